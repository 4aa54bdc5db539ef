import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from './messages.js';
import { SCOPES } from './scopes.js';
import {
  encodeConnected,
  encodeError,
  encodeScopeEvent,
  encodeSnapshot,
  parseServerMessage,
} from './server-messages.js';

const scopes = fc.uniqueArray(fc.constantFrom(...SCOPES));
const scope = fc.constantFrom(...SCOPES);
const seq = fc.nat();
const ts = fc.integer({ min: 0, max: 2 ** 45 });
// Normalised through JSON first: -0 and the like have no JSON spelling of their own.
const data = fc
  .dictionary(fc.string(), fc.jsonValue())
  .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>);

describe('encode* / parseServerMessage', () => {
  it('encodes the seed documentation `connected` example byte for byte', () => {
    const text = encodeConnected(['signals', 'aircraft', 'alerts', 'cyber'], 1710000000000);
    expect(text).toBe(
      '{"type":"connected","data":{"scopes":["signals","aircraft","alerts","cyber"],"ts":1710000000000}}',
    );
  });

  it('round-trips connected', () => {
    fc.assert(
      fc.property(scopes, ts, (s, t) => {
        expect(parseServerMessage(encodeConnected(s, t))).toEqual({ type: 'connected', data: { scopes: s, ts: t } });
      }),
    );
  });

  it('round-trips error', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(ErrorCode)), fc.string(), (code, message) => {
        expect(parseServerMessage(encodeError(code, message))).toEqual({ type: 'error', data: { code, message } });
      }),
    );
  });

  it('round-trips snapshot and scope events', () => {
    fc.assert(
      fc.property(scope, seq, fc.array(data, { maxLength: 5 }), (s, n, items) => {
        expect(parseServerMessage(encodeSnapshot(s, n, items))).toEqual({
          type: 'snapshot',
          data: { scope: s, seq: n, items },
        });
      }),
    );
    fc.assert(
      fc.property(scope, seq, ts, data, (s, n, t, d) => {
        expect(parseServerMessage(encodeScopeEvent(s, n, t, d))).toEqual({ type: s, seq: n, ts: t, data: d });
      }),
    );
  });

  it('keeps fields a newer server may add', () => {
    const msg = parseServerMessage('{"type":"aircraft","seq":1,"ts":1,"data":{"id":"a"},"extra":true}');
    expect(msg).toMatchObject({ extra: true });
  });

  it.each([
    ['not JSON', '{', /^invalid server message: not valid JSON/],
    ['a number', '1', /^invalid server message: expected an object, got 1$/],
    [
      'an unknown type',
      '{"type":"hello","data":{}}',
      /type: expected connected, snapshot, resync, error or a scope, got string "hello"/,
    ],
    ['no data', '{"type":"connected"}', /data: expected an object, got undefined/],
    [
      'connected with unknown scope',
      '{"type":"connected","data":{"scopes":["ships"],"ts":1}}',
      /connected\.data\.scopes\[0\]/,
    ],
    ['connected without ts', '{"type":"connected","data":{"scopes":[]}}', /connected\.data\.ts/],
    [
      'snapshot with negative seq',
      '{"type":"snapshot","data":{"scope":"aircraft","seq":-1,"items":[]}}',
      /snapshot\.data\.seq/,
    ],
    [
      'snapshot with a non-object item',
      '{"type":"snapshot","data":{"scope":"aircraft","seq":0,"items":[1]}}',
      /snapshot\.data\.items\[0\]/,
    ],
    ['event without seq', '{"type":"aircraft","ts":1,"data":{}}', /aircraft\.seq: expected an integer >= 0/],
    ['event with fractional seq', '{"type":"aircraft","seq":1.5,"ts":1,"data":{}}', /aircraft\.seq/],
    ['event without ts', '{"type":"vessels","seq":1,"data":{}}', /vessels\.ts/],
    ['event with array data', '{"type":"vessels","seq":1,"ts":1,"data":[]}', /data: expected an object, got an array/],
    ['error with unknown code', '{"type":"error","data":{"code":"teapot","message":"x"}}', /error\.data\.code/],
    ['error without message', '{"type":"error","data":{"code":"unauthorized"}}', /error\.data\.message/],
  ])('throws on %s', (_name, text, expected) => {
    expect(() => parseServerMessage(text)).toThrow(expected);
  });

  it('throws only Errors, never anything else, on arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          parseServerMessage(text);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).message).toMatch(/^invalid server message: /);
          expect((err as Error).message.length).toBeLessThan(400);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
