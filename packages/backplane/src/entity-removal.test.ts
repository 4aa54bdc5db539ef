import { describe, expect, it } from 'vitest';
import { encodeRemovalData } from './entity-removal.js';

describe('encodeRemovalData', () => {
  it('builds {"id","removed","reason"} with the id escaped as Redis cjson does', () => {
    expect(encodeRemovalData('4ca2d1', 'expired')).toBe('{"id":"4ca2d1","removed":true,"reason":"expired"}');
    expect(encodeRemovalData('a/b"c\\d', 'deleted')).toBe('{"id":"a\\/b\\"c\\\\d","removed":true,"reason":"deleted"}');
    expect(encodeRemovalData('\u0001\u007f\t\né', 'deleted')).toBe(
      '{"id":"\\u0001\\u007f\\t\\né","removed":true,"reason":"deleted"}',
    );
  });

  it('always yields JSON that parses back to the id (lone surrogates become U+FFFD)', () => {
    for (const id of ['x', '/', '\u2028', '🚢', '\u0000', '"\\/\u007f']) {
      expect(JSON.parse(encodeRemovalData(id, 'expired'))).toEqual({ id, removed: true, reason: 'expired' });
    }
    expect(JSON.parse(encodeRemovalData('a\ud800', 'expired')).id).toBe('a\ufffd');
  });
});
