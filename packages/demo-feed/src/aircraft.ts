import type { EventData } from '@hydra/protocol';
import { AIRLINES, AIRPORTS, type Airline, type Airport, airport } from './airspace.js';
import { bearingDeg, distanceNm, intermediatePoint, round, roundBearing } from './geo.js';
import type { Prng } from './prng.js';

/** readsb emergency values other than `none`, with the squawk each one sets (if any). */
const EMERGENCIES: ReadonlyArray<readonly [{ kind: string; squawk?: string }, number]> = [
  [{ kind: 'general', squawk: '7700' }, 50],
  [{ kind: 'nordo', squawk: '7600' }, 20],
  [{ kind: 'minfuel' }, 15],
  [{ kind: 'lifeguard' }, 12],
  [{ kind: 'unlawful', squawk: '7500' }, 3],
];
/** Share of flights that declare an emergency somewhere along their route. */
const EMERGENCY_SHARE = 0.01;

/** Typical climb and descent gradients (ft per nm flown): ~2000 ft/min climbing at 360 kt, a 3° descent. */
const CLIMB_FT_PER_NM = 330;
const DESCENT_FT_PER_NM = 300;
/** Below this distance to go the flight is on the runway: one last report on the ground, then gone. */
const TOUCHDOWN_NM = 2;

export type AircraftEntry = 'cruise' | 'takeoff' | 'coverage';

/** One simulated flight. Positions derive from `flownNm` along the origin→destination great circle. */
export interface Aircraft {
  readonly icao24: string;
  readonly callsign: string;
  readonly category: string;
  readonly positionSource: string;
  readonly origin: Airport;
  readonly dest: Airport;
  readonly routeNm: number;
  readonly cruiseFt: number;
  readonly cruiseKt: number;
  /** Along-track wind at cruise level (kt, tailwind positive). */
  readonly windKt: number;
  /** Geometric minus barometric altitude (ft): the day's pressure offset. */
  readonly geomOffsetFt: number;
  /** Distance flown when the emergency is declared (never, if undefined). */
  readonly emergencyAtNm: number | undefined;
  readonly emergencyKind: { kind: string; squawk?: string };
  squawk: string;
  emergency: string;
  flownNm: number;
  groundSpeedKt: number;
  /** Simulated time of the last report (epoch ms). */
  lastAt: number;
  /** When the flight leaves coverage (epoch ms): it then stops reporting. */
  readonly leaveAt: number;
}

interface Profile {
  altFt: number;
  vertRateFpm: number;
}

/**
 * Creates a flight. `entry` says where it is first seen: anywhere along its
 * route (the initial population), just after take-off, or entering coverage
 * mid-route. Picks an unused ICAO24 address from the operator's block.
 */
export function spawnAircraft(
  rng: Prng,
  active: { has(id: string): boolean },
  entry: AircraftEntry,
  at: number,
  meanVisibleMs: number,
): Aircraft {
  const airline = rng.weighted(AIRLINES.map((a) => [a, a.weight] as const));
  const { origin, dest } = pickRoute(rng, airline);
  const routeNm = distanceNm(origin, dest);
  const category = pickCategory(rng, routeNm);
  const { cruiseFt, cruiseKt } = cruiseFor(rng, category, routeNm, bearingDeg(origin, dest));
  const flownNm =
    entry === 'takeoff'
      ? rng.range(2, 6)
      : entry === 'coverage'
        ? routeNm * rng.range(0.1, 0.9)
        : routeNm * rng.range(0.03, 0.97);
  const declares = rng.chance(EMERGENCY_SHARE);
  const aircraft: Aircraft = {
    icao24: uniqueIcao24(rng, airline, active),
    callsign: callsignFor(rng, airline),
    category,
    positionSource: rng.chance(0.9) ? 'adsb' : 'mlat',
    origin,
    dest,
    routeNm,
    cruiseFt,
    cruiseKt,
    windKt: rng.range(-60, 60),
    geomOffsetFt: Math.round(rng.range(-300, 300) / 25) * 25,
    emergencyAtNm: declares ? rng.range(flownNm, routeNm) : undefined,
    emergencyKind: rng.weighted(EMERGENCIES),
    squawk: discreteSquawk(rng),
    emergency: 'none',
    flownNm: Math.min(flownNm, routeNm - TOUCHDOWN_NM - 1),
    groundSpeedKt: 0,
    lastAt: at,
    leaveAt: at + rng.exponential(meanVisibleMs),
  };
  aircraft.groundSpeedKt = groundSpeed(aircraft, profile(aircraft).altFt);
  return aircraft;
}

/**
 * Moves the flight to time `at` at its last ground speed and returns its
 * report, or `landed: true` with the final on-ground report once it reached
 * its destination (the caller stops updating it afterwards).
 */
export function advanceAircraft(rng: Prng, a: Aircraft, at: number): { data: EventData; landed: boolean } {
  const hours = Math.max(0, at - a.lastAt) / 3_600_000;
  a.lastAt = at;
  a.flownNm = Math.min(a.routeNm, a.flownNm + a.groundSpeedKt * hours);

  if (a.emergencyAtNm !== undefined && a.emergency === 'none' && a.flownNm >= a.emergencyAtNm) {
    a.emergency = a.emergencyKind.kind;
    if (a.emergencyKind.squawk !== undefined) a.squawk = a.emergencyKind.squawk;
  }

  const toGoNm = a.routeNm - a.flownNm;
  const position = intermediatePoint(a.origin, a.dest, a.flownNm / a.routeNm);
  // Object literals written out in full (no spread): one hidden class per shape, ~10x faster in V8.
  if (toGoNm <= TOUCHDOWN_NM) {
    const data: EventData = {
      id: a.icao24,
      icao24: a.icao24,
      callsign: a.callsign,
      lat: round(position.lat, 5),
      lon: round(position.lon, 5),
      onGround: true,
      groundSpeedKt: round(rng.range(40, 90), 1),
      // The final course: the reverse of the bearing from the destination back to the origin.
      trackDeg: roundBearing(bearingDeg(a.dest, a.origin) + 180),
      squawk: a.squawk,
      emergency: a.emergency,
      category: a.category,
      positionSource: a.positionSource,
      lastSeenTs: Math.round(at),
    };
    return { data, landed: true };
  }

  const { altFt, vertRateFpm } = profile(a);
  a.groundSpeedKt = Math.max(60, groundSpeed(a, altFt) + rng.range(-2, 2));
  const data: EventData = {
    id: a.icao24,
    icao24: a.icao24,
    callsign: a.callsign,
    lat: round(position.lat, 5),
    lon: round(position.lon, 5),
    altBaroFt: Math.round(altFt / 25) * 25,
    altGeomFt: Math.round((altFt + a.geomOffsetFt) / 25) * 25,
    onGround: false,
    groundSpeedKt: round(a.groundSpeedKt, 1),
    trackDeg: roundBearing(bearingDeg(position, a.dest)),
    // ADS-B encodes vertical rate in steps of 64 ft/min (`|| 0`: never -0).
    vertRateFpm: Math.round((vertRateFpm * (a.groundSpeedKt / 60) + rng.range(-100, 100)) / 64) * 64 || 0,
    squawk: a.squawk,
    emergency: a.emergency,
    category: a.category,
    positionSource: a.positionSource,
    lastSeenTs: Math.round(at),
  };
  return { data, landed: false };
}

/**
 * Altitude along the route: the lowest of the cruise level, the climb from
 * the origin and the descent to the destination. `vertRateFpm` is the
 * gradient (ft per nm) of the limiting leg; the caller scales it by speed.
 */
function profile(a: Aircraft): Profile {
  const climb = a.flownNm * CLIMB_FT_PER_NM;
  const descent = (a.routeNm - a.flownNm) * DESCENT_FT_PER_NM;
  if (climb < a.cruiseFt && climb <= descent) return { altFt: Math.max(0, climb), vertRateFpm: CLIMB_FT_PER_NM };
  if (descent < a.cruiseFt) return { altFt: Math.max(0, descent), vertRateFpm: -DESCENT_FT_PER_NM };
  return { altFt: a.cruiseFt, vertRateFpm: 0 };
}

/** Speed grows with altitude (true airspeed at a fixed Mach), wind felt in proportion. */
function groundSpeed(a: Aircraft, altFt: number): number {
  const share = Math.min(1, altFt / Math.max(1, a.cruiseFt));
  return 150 + (a.cruiseKt - 150) * share + a.windKt * share;
}

function pickRoute(rng: Prng, airline: Airline): { origin: Airport; dest: Airport } {
  const hub = airport(rng.pick(airline.hubs));
  const reachable = AIRPORTS.filter((x) => {
    const d = distanceNm(hub, x);
    return d >= 150 && d <= airline.maxRangeNm;
  });
  const other = reachable.length > 0 ? rng.pick(reachable) : rng.pick(AIRPORTS.filter((x) => x !== hub));
  return rng.chance(0.5) ? { origin: hub, dest: other } : { origin: other, dest: hub };
}

/** ADS-B emitter category: A1 light, A2 small, A3 large, A4 high-vortex large, A5 heavy. */
function pickCategory(rng: Prng, routeNm: number): string {
  if (routeNm > 2_800) return rng.chance(0.9) ? 'A5' : 'A3';
  if (routeNm < 600)
    return rng.weighted([
      ['A1', 3],
      ['A2', 30],
      ['A3', 67],
    ] as const);
  return rng.weighted([
    ['A2', 5],
    ['A3', 88],
    ['A4', 4],
    ['A5', 3],
  ] as const);
}

/** Cruise level by the semicircular rule: odd thousands eastbound (000–179°), even westbound. */
function cruiseFor(
  rng: Prng,
  category: string,
  routeNm: number,
  courseDeg: number,
): { cruiseFt: number; cruiseKt: number } {
  if (category === 'A1') return { cruiseFt: rng.int(6, 12) * 1000 + 500, cruiseKt: rng.range(130, 180) };
  const [minK, maxK] = category === 'A2' ? [17, 25] : [Math.min(35, 24 + Math.floor(routeNm / 120)), 41];
  let thousands = rng.int(minK, Math.max(minK, maxK));
  const eastbound = courseDeg < 180;
  if ((thousands % 2 === 1) !== eastbound) thousands += thousands < maxK ? 1 : -1;
  const cruiseKt = category === 'A2' ? rng.range(280, 330) : rng.range(430, 490);
  return { cruiseFt: thousands * 1000, cruiseKt };
}

function uniqueIcao24(rng: Prng, airline: Airline, active: { has(id: string): boolean }): string {
  const [start, size] = airline.block;
  for (;;) {
    const icao24 = (start + rng.int(0, size - 1)).toString(16).padStart(6, '0');
    if (!active.has(icao24)) return icao24;
  }
}

/** Airline designator + flight number (1–4 digits), sometimes alphanumeric (RYR4KP): at most 8 characters. */
function callsignFor(rng: Prng, airline: Airline): string {
  if (rng.chance(0.2)) return `${airline.icao}${rng.int(1, 99)}${rng.letters(rng.int(1, 2))}`;
  return `${airline.icao}${rng.int(1, 9999)}`;
}

/** A discrete IFR code: four octal digits, never a special-purpose code. */
function discreteSquawk(rng: Prng): string {
  for (;;) {
    const code = `${rng.int(0, 6)}${rng.int(0, 7)}${rng.int(0, 7)}${rng.int(0, 7)}`;
    if (code !== '0000' && code !== '2000' && code !== '1200') return code;
  }
}
