import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseServerMessage } from './server-messages.js';

// Builders round-trip through parseServerMessage in frames.test.ts.
describe('parseServerMessage', () => {
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
