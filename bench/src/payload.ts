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

const AIRLINES = ['KLM', 'DLH', 'BAW', 'AFR', 'RYR', 'EZY', 'SAS', 'IBE', 'UAE', 'THY'];
const CATEGORIES = ['A1', 'A2', 'A3', 'A5'];

/** A small deterministic hash of an entity number: the same aircraft keeps its callsign, type and route. */
function mix(n: number): number {
  let x = (n + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A demo-like aircraft position (the fields and value shapes of the demo
 * feed's aircraft, packages/demo-feed), with the bench's counter and time
 * stamp: for measures where the content of the bytes matters, such as
 * compression (`x` padding would compress far better than real data). The
 * aircraft `id` keeps its callsign, category and route; its position moves
 * with the counter.
 */
export function makeAircraftPayload(id: string, scope: number, counter: number): Record<string, unknown> {
  const n = Number(id.replace(/\D/g, '')) || 0;
  const h = mix(n);
  const step = counter / 1000;
  const icao24 = (0x400000 + (h % 0x3fffff)).toString(16);
  const alt = 30_000 + (h % 9) * 1000;
  const speed = 420 + (h % 80) + ((counter * 7) % 5) / 10;
  return {
    id,
    icao24,
    callsign: `${AIRLINES[h % AIRLINES.length]}${((h >>> 8) % 9000) + 100}`,
    lat: Math.round((35 + (h % 3000) / 100 + step * 0.01) * 1e5) / 1e5,
    lon: Math.round((-10 + ((h >>> 4) % 4000) / 100 + step * 0.013) * 1e5) / 1e5,
    altBaroFt: alt,
    altGeomFt: alt + 175,
    onGround: false,
    groundSpeedKt: Math.round(speed * 10) / 10,
    trackDeg: (h >>> 12) % 360,
    vertRateFpm: ((counter % 3) - 1) * 64,
    squawk: String(1000 + ((h >>> 3) % 6777)).padStart(4, '0'),
    emergency: 'none',
    category: CATEGORIES[(h >>> 5) % CATEGORIES.length],
    positionSource: 'adsb',
    lastSeenTs: Date.now(),
    [FIELD_SCOPE]: scope,
    [FIELD_COUNTER]: counter,
    [FIELD_TIME]: Number(process.hrtime.bigint() / 1000n),
  };
}
