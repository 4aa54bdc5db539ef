import { describe, expect, it } from 'vitest';
import { encodeIngestEvent } from './event-data.js';

describe('encodeIngestEvent', () => {
  it('encodes upserts (op absent or explicit) and deletes by the string id', () => {
    expect(encodeIngestEvent({ scope: 'aircraft', data: { id: 'a', x: 1 } }, true)).toEqual({
      op: 'upsert',
      dataJson: '{"id":"a","x":1}',
      entityId: 'a',
    });
    expect(encodeIngestEvent({ scope: 'aircraft', op: 'delete', data: { id: 42 } }, true)).toEqual({
      op: 'delete',
      dataJson: '',
      entityId: '42',
    });
    expect(encodeIngestEvent({ scope: 'signals', data: { n: 1 } }, false)).toEqual({
      op: 'upsert',
      dataJson: '{"n":1}',
      entityId: undefined,
    });
  });

  it('refuses a delete on a log scope, an unknown op, and a delete without an id', () => {
    expect(() => encodeIngestEvent({ scope: 'signals', op: 'delete', data: { id: 'x' } }, false)).toThrow(TypeError);
    expect(() => encodeIngestEvent({ scope: 'aircraft', op: 'drop' as never, data: { id: 'x' } }, true)).toThrow(
      /op must be/,
    );
    expect(() => encodeIngestEvent({ scope: 'aircraft', op: 'delete', data: {} }, true)).toThrow(/data\.id/);
  });
});
