import { FIELD_COUNTER, FIELD_SCOPE, FIELD_TIME } from './protocol.js';

export interface BenchPayload {
  id: string;
  zzs: number;
  zzn: number;
  zzt: number;
  pad: string;
}

/**
 * The event every server under test carries: scope index, per-scope counter
 * (loss and order), and a CLOCK_MONOTONIC microsecond stamp (latency; the
 * clock is shared by all processes on Linux), padded to about `bytes`.
 */
export function makePayload(id: string, scope: number, counter: number, bytes: number): BenchPayload {
  const t = Number(process.hrtime.bigint() / 1000n);
  const base = `{"id":"${id}","${FIELD_SCOPE}":${scope},"${FIELD_COUNTER}":${counter},"${FIELD_TIME}":${t},"pad":""}`;
  return { id, zzs: scope, zzn: counter, zzt: t, pad: 'x'.repeat(Math.max(0, bytes - base.length)) };
}
