import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeConnectedFrame,
  encodeErrorFrame,
  encodeEventFrame,
  encodeHeartbeatFrame,
  encodeResyncFrame,
  encodeSnapshotFrame,
  SNAPSHOT_ENVELOPE_BYTES,
} from './frames.js';
import { ErrorCode, type ResyncReason, type ServerMessage } from './messages.js';
import { SCOPES } from './scopes.js';
import { parseServerMessage } from './server-messages.js';

const RESYNC_REASONS: readonly ResyncReason[] = ['history_gone', 'backplane_gap', 'replay_too_long', 'stream_reset'];

const scopes = fc.uniqueArray(fc.constantFrom(...SCOPES));
const scope = fc.constantFrom(...SCOPES);
const seq = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
const ts = fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.constant(Number.MAX_SAFE_INTEGER));
/** Text a naive reader could trip on: the frame's own field names, quotes, escapes, any unicode. */
const trickyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('"seq":1', '","seq":99,"ts":5,"data":{', '"ts":123', '\\"seq\\":7', '}}', '\u2028', '😀', '\0'),
);
// Normalised through JSON first: -0 and the like have no JSON spelling of their own.
const data = fc
  .dictionary(
    fc.oneof(trickyString, fc.constantFrom('seq', 'ts', 'type', 'data')),
    fc.oneof(trickyString, fc.jsonValue()),
  )
  .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>);

/** The builder's output is the JSON of `message`, fields in the order messages.ts lists them. */
function expectFrameOf(frame: string, message: ServerMessage): void {
  expect(frame).toBe(JSON.stringify(message));
  expect(parseServerMessage(frame)).toEqual(message);
}

describe('frame builders', () => {
  it('builds the seed documentation `connected` example byte for byte', () => {
    expect(encodeConnectedFrame(['signals', 'aircraft', 'alerts', 'cyber'], 1710000000000)).toBe(
      '{"type":"connected","data":{"scopes":["signals","aircraft","alerts","cyber"],"ts":1710000000000}}',
    );
  });

  it('connected', () => {
    fc.assert(
      fc.property(scopes, ts, (s, t) => {
        expectFrameOf(encodeConnectedFrame(s, t), { type: 'connected', data: { scopes: s, ts: t } });
      }),
    );
  });

  it('error', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(ErrorCode)), trickyString, (code, message) => {
        expectFrameOf(encodeErrorFrame(code, message), { type: 'error', data: { code, message } });
      }),
    );
  });

  it('heartbeat', () => {
    fc.assert(
      fc.property(ts, fc.integer({ min: 0, max: 600_000 }), (t, intervalMs) => {
        const frame = encodeHeartbeatFrame(t, intervalMs);
        expect(frame).toBe(JSON.stringify({ type: 'heartbeat', data: { ts: t, intervalMs } }));
      }),
    );
  });

  it('resync', () => {
    fc.assert(
      fc.property(scope, fc.constantFrom(...RESYNC_REASONS), (s, reason) => {
        expectFrameOf(encodeResyncFrame(s, reason), { type: 'resync', data: { scope: s, reason } });
      }),
    );
  });

  it('snapshot parts', () => {
    const partOf = fc
      .integer({ min: 1, max: 1_000_000 })
      .chain((parts) => fc.record({ part: fc.integer({ min: 1, max: parts }), parts: fc.constant(parts) }));
    fc.assert(
      fc.property(scope, seq, ts, partOf, fc.array(data, { maxLength: 5 }), (s, n, t, { part, parts }, items) => {
        const frame = encodeSnapshotFrame(
          s,
          n,
          t,
          part,
          parts,
          items.map((item) => JSON.stringify(item)),
        );
        expectFrameOf(frame, {
          type: 'snapshot',
          data: { scope: s, seq: n, ts: t, part, parts, complete: part === parts, items },
        });
      }),
    );
  });

  it('keeps a snapshot part envelope under SNAPSHOT_ENVELOPE_BYTES (scope, seq and ts below 10^15, up to 10^6 parts)', () => {
    for (const s of SCOPES) {
      const envelope = encodeSnapshotFrame(s, 10 ** 15 - 1, 10 ** 15 - 1, 999_999, 1_000_000, []);
      expect(Buffer.byteLength(envelope)).toBeLessThan(SNAPSHOT_ENVELOPE_BYTES);
    }
  });

  it('live events, data passed through byte for byte', () => {
    fc.assert(
      fc.property(scope, seq, ts, data, (s, n, t, d) => {
        const dataJson = JSON.stringify(d);
        const frame = encodeEventFrame(s, n, t, dataJson);
        expectFrameOf(frame, { type: s, seq: n, ts: t, data: d });
        expect(frame.endsWith(`"data":${dataJson}}`)).toBe(true);
      }),
    );
  });
});
