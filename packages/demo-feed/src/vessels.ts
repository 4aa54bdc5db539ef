import type { EventData } from '@hydra/protocol';
import {
  bearingDeg,
  destinationPoint,
  distanceNm,
  intermediatePoint,
  type LatLon,
  round,
  roundBearing,
} from './geo.js';
import type { Prng } from './prng.js';
import {
  DEEP_SEA_FLAGS,
  FISHING_GROUNDS,
  FLAGS,
  LANES,
  type Lane,
  PORTS,
  type Port,
  SHIP_NAME_WORDS,
} from './sea-lanes.js';

/** AIS navigational status codes used by the demo (ITU-R M.1371). */
export const NavStatus = Object.freeze({
  UnderWayUsingEngine: 0,
  AtAnchor: 1,
  Moored: 5,
  EngagedInFishing: 7,
  UnderWaySailing: 8,
} as const);

type Kind = 'cargo' | 'tanker' | 'ferry' | 'cruise' | 'tug' | 'sailing' | 'fishing';

interface KindSpec {
  shipTypes: readonly number[];
  lengthM: readonly [number, number];
  /** Length-to-beam ratio range. */
  ratio: readonly [number, number];
  draughtM: readonly [number, number];
  speedKt: readonly [number, number];
  /** Share of such vessels with an IMO number. */
  imoShare: number;
}

const KINDS: Readonly<Record<Kind, KindSpec>> = {
  cargo: {
    shipTypes: [70, 71, 79],
    lengthM: [90, 366],
    ratio: [6.2, 7.5],
    draughtM: [6, 15.5],
    speedKt: [12, 20],
    imoShare: 1,
  },
  tanker: {
    shipTypes: [80, 81, 84, 89],
    lengthM: [100, 333],
    ratio: [5.5, 6.5],
    draughtM: [7, 20.5],
    speedKt: [11, 15],
    imoShare: 1,
  },
  ferry: {
    shipTypes: [60, 69],
    lengthM: [120, 225],
    ratio: [6.5, 7.5],
    draughtM: [5.5, 7],
    speedKt: [17, 23],
    imoShare: 1,
  },
  cruise: { shipTypes: [60], lengthM: [250, 345], ratio: [7, 8.2], draughtM: [7.5, 9], speedKt: [15, 20], imoShare: 1 },
  tug: { shipTypes: [52], lengthM: [25, 35], ratio: [2.6, 3.1], draughtM: [4, 6], speedKt: [8, 12], imoShare: 0.8 },
  sailing: {
    shipTypes: [36],
    lengthM: [10, 25],
    ratio: [3.2, 4.2],
    draughtM: [1.5, 3.5],
    speedKt: [4, 8],
    imoShare: 0,
  },
  fishing: { shipTypes: [30], lengthM: [12, 45], ratio: [3.5, 4.5], draughtM: [3, 6], speedKt: [2, 5], imoShare: 0.3 },
};

/** A route being sailed: the lane's points in travel order with cumulative distances. */
interface Passage {
  readonly points: readonly LatLon[];
  readonly cumNm: readonly number[];
  readonly totalNm: number;
  readonly to: Port;
}

export interface Vessel {
  readonly mmsi: string;
  readonly name: string;
  readonly callSign: string;
  readonly imo: number | undefined;
  readonly shipType: number;
  readonly lengthM: number;
  readonly beamM: number;
  readonly draughtM: number;
  readonly serviceKt: number;
  navStatus: number;
  destination: string | undefined;
  passage: Passage | undefined;
  sailedNm: number;
  /** Current position (stationary and fishing vessels; lane vessels derive it from `sailedNm`). */
  at: LatLon;
  /** Where a fishing vessel works, or where an anchored one swings. */
  readonly home: LatLon;
  cogDeg: number;
  headingDeg: number;
  sogKt: number;
  lastAt: number;
  /** When the vessel goes silent (epoch ms): no more reports after it. */
  readonly leaveAt: number;
}

/** Creates a vessel with an unused MMSI: under way on a lane, at anchor, moored, or fishing. */
export function spawnVessel(
  rng: Prng,
  active: { has(id: string): boolean },
  at: number,
  meanVisibleMs: number,
): Vessel {
  const mode = rng.weighted([
    ['lane', 65],
    ['anchor', 12],
    ['moored', 10],
    ['fishing', 13],
  ] as const);

  if (mode === 'fishing') {
    const ground = rng.pick(FISHING_GROUNDS);
    const home = destinationPoint(ground.at, rng.range(0, 360), rng.range(0, 10));
    const v = build(rng, active, 'fishing', ground.flag, at, meanVisibleMs, home, NavStatus.EngagedInFishing);
    v.cogDeg = rng.range(0, 360);
    v.sogKt = rng.range(2, 5);
    return v;
  }

  if (mode === 'lane') {
    const lane = rng.pick(LANES);
    const passage = passageOf(lane, rng.chance(0.5));
    const kind: Kind = lane.shortSea
      ? rng.weighted([
          ['ferry', 35],
          ['cargo', 30],
          ['tanker', 10],
          ['tug', 10],
          ['sailing', 15],
        ] as const)
      : rng.weighted([
          ['cargo', 60],
          ['tanker', 35],
          ['cruise', 5],
        ] as const);
    const flag = flagFor(rng, kind, passage.to);
    const status = kind === 'sailing' ? NavStatus.UnderWaySailing : NavStatus.UnderWayUsingEngine;
    const v = build(rng, active, kind, flag, at, meanVisibleMs, passage.points[0]!, status);
    v.passage = passage;
    v.sailedNm = passage.totalNm * rng.range(0, 0.95);
    v.destination = passage.to.locode;
    v.sogKt = v.serviceKt;
    return v;
  }

  const port = rng.pick(Object.values(PORTS));
  const kind: Kind =
    mode === 'anchor'
      ? rng.weighted([
          ['cargo', 55],
          ['tanker', 45],
        ] as const)
      : rng.weighted([
          ['cargo', 45],
          ['tanker', 15],
          ['ferry', 15],
          ['tug', 25],
        ] as const);
  const spot =
    mode === 'anchor'
      ? destinationPoint(port.anchorage, rng.range(0, 360), rng.range(0, 1.5))
      : destinationPoint(port.berth, rng.range(0, 360), rng.range(0.05, 0.3));
  const v = build(
    rng,
    active,
    kind,
    flagFor(rng, kind, port),
    at,
    meanVisibleMs,
    spot,
    mode === 'anchor' ? NavStatus.AtAnchor : NavStatus.Moored,
  );
  v.headingDeg = rng.range(0, 360);
  v.cogDeg = v.headingDeg;
  v.destination = port.locode;
  return v;
}

/** Moves the vessel to time `at` and returns its AIS report (position and voyage data merged, as aisstream.io does). */
export function advanceVessel(rng: Prng, v: Vessel, at: number): EventData {
  const hours = Math.max(0, at - v.lastAt) / 3_600_000;
  v.lastAt = at;

  let etaTs: number | undefined;
  let cogDeg: number | undefined;
  let headingDeg: number | undefined;
  switch (v.navStatus) {
    case NavStatus.UnderWayUsingEngine:
    case NavStatus.UnderWaySailing: {
      const passage = v.passage!;
      v.sailedNm = Math.min(passage.totalNm, v.sailedNm + v.sogKt * hours);
      if (v.sailedNm >= passage.totalNm) {
        // Arrived: alongside at the destination berth from now on.
        v.navStatus = NavStatus.Moored;
        v.at = passage.points[passage.points.length - 1]!;
        v.sogKt = 0;
        v.passage = undefined;
        headingDeg = v.headingDeg;
        break;
      }
      const { position, course } = positionOn(passage, v.sailedNm);
      v.at = position;
      v.sogKt = Math.max(0.5, v.serviceKt + rng.range(-0.6, 0.6));
      v.cogDeg = course + rng.range(-1.5, 1.5);
      v.headingDeg = course + rng.range(-4, 4);
      cogDeg = v.cogDeg;
      headingDeg = v.headingDeg;
      etaTs = Math.round(at + ((passage.totalNm - v.sailedNm) / v.serviceKt) * 3_600_000);
      break;
    }
    case NavStatus.EngagedInFishing: {
      // A slow random walk that turns back towards the grounds when it strays beyond 12 nm.
      const away = distanceNm(v.home, v.at);
      const homeward = bearingDeg(v.at, v.home);
      v.cogDeg = away > 12 ? homeward + rng.range(-30, 30) : v.cogDeg + rng.range(-25, 25);
      v.sogKt = Math.max(0.5, Math.min(6, v.sogKt + rng.range(-0.5, 0.5)));
      v.at = destinationPoint(v.at, v.cogDeg, v.sogKt * hours);
      v.headingDeg = v.cogDeg + rng.range(-5, 5);
      cogDeg = v.cogDeg;
      headingDeg = v.headingDeg;
      break;
    }
    case NavStatus.AtAnchor: {
      // Swinging round the anchor: heading wanders, drift of a few tenths of a knot.
      v.headingDeg += rng.range(-4, 4);
      v.sogKt = rng.range(0, 0.3);
      v.cogDeg = v.headingDeg + 180 + rng.range(-40, 40);
      cogDeg = v.cogDeg;
      headingDeg = v.headingDeg;
      break;
    }
    default:
      // Moored: no course over ground (AIS "not available"), so the field is absent.
      v.sogKt = 0;
      headingDeg = v.headingDeg;
  }

  const data: EventData = {
    id: v.mmsi,
    mmsi: v.mmsi,
    name: v.name,
    callSign: v.callSign,
    shipType: v.shipType,
    navStatus: v.navStatus,
    lat: round(v.at.lat, 5),
    lon: round(v.at.lon, 5),
    sogKt: round(v.sogKt, 1),
  };
  if (cogDeg !== undefined) data['cogDeg'] = roundBearing(cogDeg);
  if (headingDeg !== undefined) data['headingDeg'] = Math.round(roundBearing(headingDeg)) % 360;
  if (v.imo !== undefined) data['imo'] = v.imo;
  data['lengthM'] = v.lengthM;
  data['beamM'] = v.beamM;
  data['draughtM'] = v.draughtM;
  if (v.destination !== undefined) data['destination'] = v.destination;
  if (etaTs !== undefined) data['etaTs'] = etaTs;
  return data;
}

function build(
  rng: Prng,
  active: { has(id: string): boolean },
  kind: Kind,
  flag: string,
  at: number,
  meanVisibleMs: number,
  position: LatLon,
  navStatus: number,
): Vessel {
  const spec = KINDS[kind];
  const lengthM = rng.int(spec.lengthM[0], spec.lengthM[1]);
  return {
    mmsi: uniqueMmsi(rng, flag, active),
    name: nameFor(rng, kind),
    callSign: callSignFor(rng, flag),
    imo: rng.chance(spec.imoShare) ? imoNumber(rng) : undefined,
    shipType: rng.pick(spec.shipTypes),
    lengthM,
    beamM: Math.max(3, Math.round(lengthM / rng.range(spec.ratio[0], spec.ratio[1]))),
    draughtM: round(rng.range(spec.draughtM[0], spec.draughtM[1]), 1),
    serviceKt: rng.range(spec.speedKt[0], spec.speedKt[1]),
    navStatus,
    destination: undefined,
    passage: undefined,
    sailedNm: 0,
    at: position,
    home: position,
    cogDeg: 0,
    headingDeg: 0,
    sogKt: 0,
    lastAt: at,
    leaveAt: at + rng.exponential(meanVisibleMs),
  };
}

function passageOf(lane: Lane, reverse: boolean): Passage {
  const from = PORTS[lane.from]!;
  const to = PORTS[lane.to]!;
  const forward = [from.berth, ...lane.via, to.berth];
  const points = reverse ? forward.reverse() : forward;
  const cumNm = [0];
  for (let i = 1; i < points.length; i++) cumNm.push(cumNm[i - 1]! + distanceNm(points[i - 1]!, points[i]!));
  return { points, cumNm, totalNm: cumNm[cumNm.length - 1]!, to: reverse ? from : to };
}

function positionOn(passage: Passage, sailedNm: number): { position: LatLon; course: number } {
  let i = 1;
  while (i < passage.cumNm.length - 1 && passage.cumNm[i]! < sailedNm) i++;
  const a = passage.points[i - 1]!;
  const b = passage.points[i]!;
  const start = passage.cumNm[i - 1]!;
  const length = passage.cumNm[i]! - start;
  const position = length > 0 ? intermediatePoint(a, b, (sailedNm - start) / length) : a;
  return { position, course: bearingDeg(position, b) };
}

/** Ferries, tugs and yachts fly the local flag; deep-sea ships mostly open registries. */
function flagFor(rng: Prng, kind: Kind, port: Port): string {
  if (kind === 'ferry' || kind === 'tug' || kind === 'sailing' || kind === 'fishing') return port.flag;
  return rng.chance(0.15) ? port.flag : rng.weighted(DEEP_SEA_FLAGS);
}

/** MMSI of a ship station: the flag's MID followed by six digits. */
function uniqueMmsi(rng: Prng, flag: string, active: { has(id: string): boolean }): string {
  const mids = FLAGS[flag]?.mids ?? [636];
  for (;;) {
    const mmsi = `${rng.pick(mids)}${rng.int(100_000, 999_999)}`;
    if (!active.has(mmsi)) return mmsi;
  }
}

function callSignFor(rng: Prng, flag: string): string {
  const prefix = rng.pick(FLAGS[flag]?.callPrefix ?? ['A8']);
  return `${prefix}${rng.letters(2)}${rng.int(1, 9)}`;
}

/** A 7-digit IMO ship number with a valid check digit (weights 7..2 over the first six digits). */
export function imoNumber(rng: Prng): number {
  const digits = [rng.pick([9, 9, 9, 8]), rng.int(0, 9), rng.int(0, 9), rng.int(0, 9), rng.int(0, 9), rng.int(0, 9)];
  const check = digits.reduce((sum, d, i) => sum + d * (7 - i), 0) % 10;
  return Number(`${digits.join('')}${check}`);
}

const OPERATORS = ['MSC', 'MAERSK', 'CMA CGM', 'EVER', 'COSCO', 'ONE', 'HAPAG'];
const FERRY_LINES = ['STENA', 'IRISH', 'CELTIC', 'NORMANDIE', 'NORDIC'];

function nameFor(rng: Prng, kind: Kind): string {
  const word = () => rng.pick(SHIP_NAME_WORDS);
  switch (kind) {
    case 'cargo':
      return rng.chance(0.5) ? `${rng.pick(OPERATORS)} ${word()}` : `${word()} ${word()}`;
    case 'tanker':
      return `${word()} ${rng.pick(['SPIRIT', 'GLORY', 'EXPRESS', 'VOYAGER', 'PROGRESS'])}`;
    case 'ferry':
      return `${rng.pick(FERRY_LINES)} ${word()}`;
    case 'cruise':
      return `${word()} OF THE SEAS`;
    case 'tug':
      return `${word()} ${rng.int(1, 12)}`;
    case 'sailing':
      return word();
    case 'fishing':
      return rng.chance(0.5) ? `${word()} ${rng.pick(['II', 'III', 'IV'])}` : `${word()} ${word()}`;
  }
}
