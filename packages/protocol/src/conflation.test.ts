import { describe, expect, it } from 'vitest';
import { parseConflation } from './conflation.js';
import { frameEntity } from './entity-frame.js';
import { encodeEventFrame } from './frames.js';

describe('parseConflation', () => {
  it('takes the fixed tiers and nothing else, naming the option in the reason', () => {
    expect(parseConflation('')).toEqual({ ok: true, tierMs: 0 });
    expect(parseConflation('1000')).toEqual({ ok: true, tierMs: 1000 });
    expect(parseConflation('5000')).toEqual({ ok: true, tierMs: 5000 });
    expect(parseConflation('30000')).toEqual({ ok: true, tierMs: 30000 });
    for (const bad of ['0', '2000', '5000.0', '05000', ' 5000', '5s', 'x'.repeat(100)]) {
      const r = parseConflation(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.reason).toMatch(/^conflate: must be one of 1000, 5000, 30000/);
        expect(r.reason.length).toBeLessThan(120);
      }
    }
  });
});

describe('frameEntity', () => {
  const f = (dataJson: string) => Buffer.from(encodeEventFrame('aircraft', 12, 1_700_000_000_000, dataJson));

  it('reads the id and removal of the frames the publisher writes', () => {
    expect(frameEntity(f('{"id":"4ca2d1","lat":1}'))).toEqual({ id: '4ca2d1', removed: false });
    expect(frameEntity(f('{"id":42,"lat":1}'))).toEqual({ id: '42', removed: false });
    expect(frameEntity(f('{"id":"4ca2d1","removed":true,"reason":"expired"}'))).toEqual({
      id: '4ca2d1',
      removed: true,
    });
    expect(frameEntity(f('{"lat":1,"id":"late"}'))).toEqual({ id: 'late', removed: false });
    expect(frameEntity(f('{"id":"a\\"b"}'))).toEqual({ id: 'a"b', removed: false });
    expect(frameEntity(f('{"id":1e3}'))).toEqual({ id: '1000', removed: false });
    expect(frameEntity(f('{"id":"\\u00e9t\\u00e9","removed":true}'))).toEqual({ id: 'été', removed: true });
  });

  it('is null for frames that are not about an entity', () => {
    expect(frameEntity(f('{"lat":1}'))).toBeNull();
    expect(frameEntity(f('{"id":""}'))).toBeNull();
    expect(frameEntity(f('[1,2]'))).toBeNull();
    expect(frameEntity(Buffer.from('{"type":"resync","data":{"scope":"aircraft"}}'))).toBeNull();
    expect(frameEntity(Buffer.from('not json'))).toBeNull();
  });
});
