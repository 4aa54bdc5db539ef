import type { ErrorCode, ResyncReason } from './messages.js';
import type { Scope } from './scopes.js';

/*
 * The server→client frames, built the way production sends them: string
 * concatenation around JSON that is serialised once (an event's data, a
 * snapshot's items), so fanning a frame out or splitting a snapshot never
 * re-serialises. Each builder's output is the JSON of its message type in
 * messages.ts, with the fields in this order (frames.test.ts checks both);
 * the readers of frame-readers.ts rely on that order.
 *
 * Scope, reason and error code are inserted as they are: fixed ASCII names
 * with nothing to escape. Numbers are integers (seq, ts, part, parts).
 */

/** The `connected` frame: the key's scopes and the server time (epoch ms). */
export function encodeConnectedFrame(scopes: readonly Scope[], ts: number): string {
  return `{"type":"connected","data":{"scopes":${JSON.stringify(scopes)},"ts":${ts}}}`;
}

/** An `error` frame, sent before a close the client should understand. */
export function encodeErrorFrame(code: ErrorCode, message: string): string {
  return `{"type":"error","data":{"code":"${code}","message":${JSON.stringify(message)}}}`;
}

/** A `resync` frame: the client's view of `scope` restarts with a fresh snapshot. */
export function encodeResyncFrame(scope: Scope, reason: ResyncReason): string {
  return `{"type":"resync","data":{"scope":"${scope}","reason":"${reason}"}}`;
}

/** A `heartbeat` frame (the opt-in `heartbeat=true` liveness signal): the server time and its interval. */
export function encodeHeartbeatFrame(ts: number, intervalMs: number): string {
  return `{"type":"heartbeat","data":{"ts":${ts},"intervalMs":${intervalMs}}}`;
}

/**
 * Bytes of a snapshot part around its items: the envelope of
 * encodeSnapshotFrame is under this for any scope name, seq and ts below
 * 10^15 and up to 10^6 parts.
 */
export const SNAPSHOT_ENVELOPE_BYTES = 192;

/**
 * Part `part` of `parts` of the `snapshot` of `scope` at `seq`; `ts` is the
 * publish time of event `seq` (0 when unknown), `itemsJson` the items, each
 * already serialised. `complete` is true on the last part.
 */
export function encodeSnapshotFrame(
  scope: Scope,
  seq: number,
  ts: number,
  part: number,
  parts: number,
  itemsJson: readonly string[],
): string {
  return `{"type":"snapshot","data":{"scope":"${scope}","seq":${seq},"ts":${ts},"part":${part},"parts":${parts},"complete":${part === parts},"items":[${itemsJson.join(',')}]}}`;
}

/**
 * A live event frame `{"type":"<scope>","seq":<n>,"ts":<ms>,"data":<dataJson>}`,
 * built once where the event is published (and byte for byte the same by the
 * Redis backplane's publish.lua / expire.lua) and fanned out as is.
 */
export function encodeEventFrame(scope: Scope, seq: number, ts: number, dataJson: string): string {
  return `{"type":"${scope}","seq":${seq},"ts":${ts},"data":${dataJson}}`;
}
