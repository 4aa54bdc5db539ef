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
