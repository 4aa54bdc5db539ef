import type { LatLon } from './geo.js';

/** An airport the demo flies between (real ICAO code and reference point, rounded). */
export interface Airport extends LatLon {
  readonly icao: string;
  readonly city: string;
}

/** 43 real airports on five continents. */
export const AIRPORTS: readonly Airport[] = Object.freeze([
  { icao: 'EIDW', city: 'Dublin', lat: 53.4213, lon: -6.2701 },
  { icao: 'EGLL', city: 'London', lat: 51.47, lon: -0.4543 },
  { icao: 'EGKK', city: 'London Gatwick', lat: 51.1537, lon: -0.1821 },
  { icao: 'EGCC', city: 'Manchester', lat: 53.3537, lon: -2.275 },
  { icao: 'LFPG', city: 'Paris', lat: 49.0097, lon: 2.5479 },
  { icao: 'EHAM', city: 'Amsterdam', lat: 52.3105, lon: 4.7683 },
  { icao: 'EDDF', city: 'Frankfurt', lat: 50.0379, lon: 8.5622 },
  { icao: 'EDDM', city: 'Munich', lat: 48.3537, lon: 11.775 },
  { icao: 'LEMD', city: 'Madrid', lat: 40.4983, lon: -3.5676 },
  { icao: 'LEBL', city: 'Barcelona', lat: 41.2974, lon: 2.0833 },
  { icao: 'LIRF', city: 'Rome', lat: 41.8003, lon: 12.2389 },
  { icao: 'LSZH', city: 'Zurich', lat: 47.4582, lon: 8.5555 },
  { icao: 'LOWW', city: 'Vienna', lat: 48.1103, lon: 16.5697 },
  { icao: 'EKCH', city: 'Copenhagen', lat: 55.618, lon: 12.6508 },
  { icao: 'ESSA', city: 'Stockholm', lat: 59.6498, lon: 17.9238 },
  { icao: 'ENGM', city: 'Oslo', lat: 60.1976, lon: 11.1004 },
  { icao: 'EFHK', city: 'Helsinki', lat: 60.3172, lon: 24.9633 },
  { icao: 'EPWA', city: 'Warsaw', lat: 52.1657, lon: 20.9671 },
  { icao: 'LPPT', city: 'Lisbon', lat: 38.7813, lon: -9.1359 },
  { icao: 'LTFM', city: 'Istanbul', lat: 41.2753, lon: 28.7519 },
  { icao: 'LGAV', city: 'Athens', lat: 37.9364, lon: 23.9445 },
  { icao: 'LHBP', city: 'Budapest', lat: 47.4298, lon: 19.2611 },
  { icao: 'BIKF', city: 'Keflavik', lat: 63.985, lon: -22.6056 },
  { icao: 'KJFK', city: 'New York', lat: 40.6413, lon: -73.7781 },
  { icao: 'KBOS', city: 'Boston', lat: 42.3656, lon: -71.0096 },
  { icao: 'KORD', city: 'Chicago', lat: 41.9742, lon: -87.9073 },
  { icao: 'KATL', city: 'Atlanta', lat: 33.6407, lon: -84.4277 },
  { icao: 'KLAX', city: 'Los Angeles', lat: 33.9416, lon: -118.4085 },
  { icao: 'KSFO', city: 'San Francisco', lat: 37.6213, lon: -122.379 },
  { icao: 'KDFW', city: 'Dallas', lat: 32.8998, lon: -97.0403 },
  { icao: 'KMIA', city: 'Miami', lat: 25.7959, lon: -80.287 },
  { icao: 'KSEA', city: 'Seattle', lat: 47.4502, lon: -122.3088 },
  { icao: 'CYYZ', city: 'Toronto', lat: 43.6777, lon: -79.6248 },
  { icao: 'CYUL', city: 'Montreal', lat: 45.4706, lon: -73.7408 },
  { icao: 'OMDB', city: 'Dubai', lat: 25.2532, lon: 55.3657 },
  { icao: 'OTHH', city: 'Doha', lat: 25.2731, lon: 51.6081 },
  { icao: 'LLBG', city: 'Tel Aviv', lat: 32.0055, lon: 34.8854 },
  { icao: 'HECA', city: 'Cairo', lat: 30.1219, lon: 31.4056 },
  { icao: 'FAOR', city: 'Johannesburg', lat: -26.1367, lon: 28.2411 },
  { icao: 'VIDP', city: 'Delhi', lat: 28.5562, lon: 77.1 },
  { icao: 'VHHH', city: 'Hong Kong', lat: 22.308, lon: 113.9185 },
  { icao: 'RJTT', city: 'Tokyo', lat: 35.5494, lon: 139.7798 },
  { icao: 'WSSS', city: 'Singapore', lat: 1.3644, lon: 103.9915 },
  { icao: 'YSSY', city: 'Sydney', lat: -33.9399, lon: 151.1753 },
  { icao: 'SBGR', city: 'Sao Paulo', lat: -23.4356, lon: -46.4731 },
]);

/**
 * An operator: ICAO airline designator (the callsign prefix), the block of
 * 24-bit addresses its state of registry was allocated (ICAO Annex 10), its
 * hubs, and how far it flies.
 */
export interface Airline {
  readonly icao: string;
  /** First address and size of the registry's ICAO24 block. */
  readonly block: readonly [start: number, size: number];
  readonly hubs: readonly string[];
  readonly maxRangeNm: number;
  /** Share of the traffic (relative). */
  readonly weight: number;
}

const SHORT = 1_900;
const LONG = 6_000;
const IE: Airline['block'] = [0x4ca000, 0x1000];
const GB: Airline['block'] = [0x400000, 0x40000];
const US: Airline['block'] = [0xa00000, 0x100000];

export const AIRLINES: readonly Airline[] = Object.freeze([
  { icao: 'EIN', block: IE, hubs: ['EIDW'], maxRangeNm: 3_500, weight: 5 },
  { icao: 'RYR', block: IE, hubs: ['EIDW', 'EGKK', 'LEBL', 'LIRF', 'EPWA'], maxRangeNm: SHORT, weight: 9 },
  { icao: 'BAW', block: GB, hubs: ['EGLL', 'EGKK'], maxRangeNm: LONG, weight: 7 },
  { icao: 'EZY', block: GB, hubs: ['EGKK', 'EGCC', 'LSZH'], maxRangeNm: SHORT, weight: 6 },
  { icao: 'AFR', block: [0x380000, 0x40000], hubs: ['LFPG'], maxRangeNm: LONG, weight: 5 },
  { icao: 'KLM', block: [0x480000, 0x8000], hubs: ['EHAM'], maxRangeNm: LONG, weight: 5 },
  { icao: 'DLH', block: [0x3c0000, 0x40000], hubs: ['EDDF', 'EDDM'], maxRangeNm: LONG, weight: 7 },
  { icao: 'IBE', block: [0x340000, 0x40000], hubs: ['LEMD'], maxRangeNm: LONG, weight: 3 },
  { icao: 'VLG', block: [0x340000, 0x40000], hubs: ['LEBL'], maxRangeNm: SHORT, weight: 3 },
  { icao: 'ITY', block: [0x300000, 0x40000], hubs: ['LIRF'], maxRangeNm: LONG, weight: 2 },
  { icao: 'SWR', block: [0x4b0000, 0x8000], hubs: ['LSZH'], maxRangeNm: LONG, weight: 3 },
  { icao: 'AUA', block: [0x440000, 0x8000], hubs: ['LOWW'], maxRangeNm: 2_500, weight: 2 },
  { icao: 'SAS', block: [0x458000, 0x8000], hubs: ['EKCH', 'ESSA', 'ENGM'], maxRangeNm: LONG, weight: 3 },
  { icao: 'FIN', block: [0x460000, 0x8000], hubs: ['EFHK'], maxRangeNm: LONG, weight: 2 },
  { icao: 'LOT', block: [0x488000, 0x8000], hubs: ['EPWA'], maxRangeNm: LONG, weight: 2 },
  { icao: 'TAP', block: [0x490000, 0x8000], hubs: ['LPPT'], maxRangeNm: LONG, weight: 2 },
  { icao: 'THY', block: [0x4b8000, 0x8000], hubs: ['LTFM'], maxRangeNm: LONG, weight: 5 },
  { icao: 'AEE', block: [0x468000, 0x8000], hubs: ['LGAV'], maxRangeNm: SHORT, weight: 2 },
  { icao: 'WZZ', block: [0x470000, 0x8000], hubs: ['LHBP', 'EPWA'], maxRangeNm: 2_500, weight: 3 },
  { icao: 'ICE', block: [0x4cc000, 0x1000], hubs: ['BIKF'], maxRangeNm: 3_500, weight: 2 },
  { icao: 'AAL', block: US, hubs: ['KDFW', 'KMIA', 'KORD', 'KJFK'], maxRangeNm: LONG, weight: 7 },
  { icao: 'DAL', block: US, hubs: ['KATL', 'KJFK', 'KSEA'], maxRangeNm: LONG, weight: 7 },
  { icao: 'UAL', block: US, hubs: ['KORD', 'KSFO'], maxRangeNm: LONG, weight: 7 },
  { icao: 'JBU', block: US, hubs: ['KJFK', 'KBOS'], maxRangeNm: 3_500, weight: 3 },
  { icao: 'ASA', block: US, hubs: ['KSEA', 'KLAX'], maxRangeNm: 2_500, weight: 2 },
  { icao: 'ACA', block: [0xc00000, 0x40000], hubs: ['CYYZ', 'CYUL'], maxRangeNm: LONG, weight: 3 },
  { icao: 'UAE', block: [0x896000, 0x1000], hubs: ['OMDB'], maxRangeNm: LONG, weight: 4 },
  { icao: 'QTR', block: [0x06a000, 0x1000], hubs: ['OTHH'], maxRangeNm: LONG, weight: 3 },
  { icao: 'ELY', block: [0x738000, 0x8000], hubs: ['LLBG'], maxRangeNm: LONG, weight: 1 },
  { icao: 'MSR', block: [0x010000, 0x8000], hubs: ['HECA'], maxRangeNm: LONG, weight: 1 },
  { icao: 'SAA', block: [0x008000, 0x8000], hubs: ['FAOR'], maxRangeNm: LONG, weight: 1 },
  { icao: 'AIC', block: [0x800000, 0x40000], hubs: ['VIDP'], maxRangeNm: LONG, weight: 2 },
  { icao: 'CPA', block: [0x780000, 0x40000], hubs: ['VHHH'], maxRangeNm: LONG, weight: 2 },
  { icao: 'JAL', block: [0x840000, 0x40000], hubs: ['RJTT'], maxRangeNm: LONG, weight: 2 },
  { icao: 'SIA', block: [0x768000, 0x8000], hubs: ['WSSS'], maxRangeNm: LONG, weight: 2 },
  { icao: 'QFA', block: [0x7c0000, 0x40000], hubs: ['YSSY'], maxRangeNm: LONG, weight: 2 },
  { icao: 'TAM', block: [0xe40000, 0x40000], hubs: ['SBGR'], maxRangeNm: LONG, weight: 1 },
]);

const byIcao = new Map(AIRPORTS.map((a) => [a.icao, a]));

export function airport(icao: string): Airport {
  const found = byIcao.get(icao);
  if (found === undefined) throw new Error(`demo: unknown airport ${icao}`);
  return found;
}
