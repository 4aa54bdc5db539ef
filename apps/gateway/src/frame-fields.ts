/**
 * Reads the `ts` number out of a live event frame
 * (`{"type":…,"seq":…,"ts":<ms>,"data":…}`) without parsing the JSON, so the
 * latency metric costs no per-event parse. Returns 0 if absent.
 */
export function frameTs(frame: Buffer): number {
  const at = frame.indexOf('"ts":');
  if (at < 0 || at > 64) return 0;
  let ts = 0;
  for (let i = at + 5; i < frame.length && i < at + 25; i++) {
    const c = frame[i] as number;
    if (c < 48 || c > 57) break;
    ts = ts * 10 + (c - 48);
  }
  return ts;
}
