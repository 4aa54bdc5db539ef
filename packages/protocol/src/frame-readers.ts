import { SNAPSHOT_ENVELOPE_BYTES } from './frames.js';
import { isScope, type Scope } from './scopes.js';

/*
 * Fields read straight out of a frame's bytes, without parsing the JSON: the
 * gateway reads every live event's seq and ts this way, so fan-out costs no
 * per-event parse. They read the header the builders of frames.ts write
 * before any data (`{"type":"<scope>","seq":<n>,"ts":<ms>,"data":…}` for an
 * event, `{"type":"snapshot","data":{"scope":…,"seq":<n>,"ts":<ms>,…` for a
 * snapshot part), so text inside the data (`"seq":` in a string, say) is
 * never what they find.
 */

const SEQ_KEY = '"seq":';
const TS_KEY = '"ts":';
/** The `"ts":` of an event frame starts within this many bytes (scope names are short, seq < 2^53). */
const TS_KEY_WITHIN = 64;

/**
 * The `seq` of an event frame (encodeEventFrame) or of a snapshot part
 * (encodeSnapshotFrame). Returns -1 if the frame has no `"seq":` followed by
 * a digit.
 */
export function frameSeq(frame: Buffer): number {
  const at = frame.indexOf(SEQ_KEY);
  if (at < 0) return -1;
  let seq = 0;
  let i = at + SEQ_KEY.length;
  for (; i < frame.length; i++) {
    const c = frame[i] as number;
    if (c < 48 || c > 57) break;
    seq = seq * 10 + (c - 48);
  }
  return i === at + SEQ_KEY.length ? -1 : seq;
}

/**
 * The `ts` of an event frame (encodeEventFrame). Returns 0 if the frame has
 * no `"ts":` in its first 64 bytes.
 */
export function frameTs(frame: Buffer): number {
  const at = frame.indexOf(TS_KEY);
  if (at < 0 || at > TS_KEY_WITHIN) return 0;
  let ts = 0;
  for (let i = at + TS_KEY.length; i < frame.length && i < at + 25; i++) {
    const c = frame[i] as number;
    if (c < 48 || c > 57) break;
    ts = ts * 10 + (c - 48);
  }
  return ts;
}

/** The fields of a snapshot part before its items. */
export interface SnapshotFrameHeader {
  scope: Scope;
  seq: number;
  ts: number;
  part: number;
  parts: number;
  complete: boolean;
}

const SNAPSHOT_HEADER =
  /^\{"type":"snapshot","data":\{"scope":"([a-z]+)","seq":(\d{1,16}),"ts":(\d{1,16}),"part":(\d{1,16}),"parts":(\d{1,16}),"complete":(true|false),"items":\[/;

/**
 * The header of a snapshot part as encodeSnapshotFrame writes it, read from
 * its first SNAPSHOT_ENVELOPE_BYTES bytes (items are not parsed); null if the
 * frame does not start that way.
 */
export function snapshotFrameHeader(frame: Buffer): SnapshotFrameHeader | null {
  const m = SNAPSHOT_HEADER.exec(frame.toString('latin1', 0, SNAPSHOT_ENVELOPE_BYTES));
  if (!m || !isScope(m[1])) return null;
  return {
    scope: m[1],
    seq: Number(m[2]),
    ts: Number(m[3]),
    part: Number(m[4]),
    parts: Number(m[5]),
    complete: m[6] === 'true',
  };
}
