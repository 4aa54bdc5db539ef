import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameSeq, frameTs, snapshotFrameHeader } from './frame-readers.js';
import { encodeConnectedFrame, encodeEventFrame, encodeResyncFrame, encodeSnapshotFrame } from './frames.js';
import { SCOPES } from './scopes.js';

const scope = fc.constantFrom(...SCOPES);
const seq = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
const ts = fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.constant(Number.MAX_SAFE_INTEGER));
/** The readers' own keys inside the data, in keys and string values, beside any unicode. */
const trickyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('"seq":1', '","seq":99,"ts":5,"data":{', '"ts":123', '"seq":', '"ts":', '😀"seq":2', '\u2028'),
);
const dataJson = fc
  .dictionary(fc.oneof(trickyString, fc.constantFrom('seq', 'ts')), fc.oneof(trickyString, fc.jsonValue()))
  .map((d) => JSON.stringify(d));
// Data as the Redis backplane's Lua passes it through: any JSON text, e.g. with `/` escaped as cjson does.
const rawDataJson = fc.oneof(dataJson, fc.constantFrom('{"seq":5}', '{"ts":1,"seq":2}', '{"u":"\\/\\u007f"}', '{}'));

describe('frame readers', () => {
  it('read seq and ts of every event frame, whatever its data holds', () => {
    fc.assert(
      fc.property(scope, seq, ts, rawDataJson, (s, n, t, d) => {
        const frame = Buffer.from(encodeEventFrame(s, n, t, d));
        expect(frameSeq(frame)).toBe(n);
        expect(frameTs(frame)).toBe(t);
      }),
      { numRuns: 500 },
    );
  });

  it('read the seq of every snapshot part, whatever its items hold', () => {
    fc.assert(
      fc.property(scope, seq, ts, fc.array(dataJson, { maxLength: 4 }), (s, n, t, items) => {
        expect(frameSeq(Buffer.from(encodeSnapshotFrame(s, n, t, 1, 1, items)))).toBe(n);
      }),
    );
  });

  it('read the header of every snapshot part, whatever its items hold', () => {
    const partOf = fc
      .integer({ min: 1, max: 1_000_000 })
      .chain((parts) => fc.record({ part: fc.integer({ min: 1, max: parts }), parts: fc.constant(parts) }));
    fc.assert(
      fc.property(scope, seq, ts, partOf, fc.array(dataJson, { maxLength: 4 }), (s, n, t, { part, parts }, items) => {
        expect(snapshotFrameHeader(Buffer.from(encodeSnapshotFrame(s, n, t, part, parts, items)))).toEqual({
          scope: s,
          seq: n,
          ts: t,
          part,
          parts,
          complete: part === parts,
        });
      }),
    );
  });

  it('read no snapshot header from other frames', () => {
    const frames = [
      encodeConnectedFrame(['aircraft'], 1),
      encodeResyncFrame('aircraft', 'backplane_gap'),
      encodeEventFrame('aircraft', 1, 1, '{"type":"snapshot","data":{"scope":"aircraft","seq":1}}'),
      '{"type":"snapshot","data":{"scope":"ships","seq":1,"ts":1,"part":1,"parts":1,"complete":true,"items":[]}}',
      '{"type":"snapshot","data":{"scope":"aircraft","seq":1,"items":[]}}',
    ];
    for (const frame of frames) expect(snapshotFrameHeader(Buffer.from(frame))).toBeNull();
  });

  it('return -1 (seq) and 0 (ts) for a frame without them', () => {
    expect(frameSeq(Buffer.from('{"type":"resync","data":{"scope":"aircraft","reason":"history_gone"}}'))).toBe(-1);
    expect(frameSeq(Buffer.from('{"type":"aircraft","seq":x}'))).toBe(-1);
    expect(frameTs(Buffer.from('{"type":"resync","data":{"scope":"aircraft","reason":"history_gone"}}'))).toBe(0);
    expect(frameTs(Buffer.from(`{"type":"aircraft","data":{"pad":"${'x'.repeat(64)}","ts":5}}`))).toBe(0);
  });
});
