import type { LatLon } from './geo.js';

/** A port: its AIS destination text (UN/LOCODE written "CC LLL"), a berth and an anchorage. */
export interface Port {
  readonly name: string;
  readonly locode: string;
  readonly berth: LatLon;
  readonly anchorage: LatLon;
  /** Flag of the port's local traffic (ferries, tugs, fishing). */
  readonly flag: string;
}

/** A shipping lane: waypoints over water from one port's berth to another's (travelled either way). */
export interface Lane {
  readonly from: string;
  readonly to: string;
  readonly via: readonly LatLon[];
  /** Deep-sea lanes carry cargo and tankers; short-sea lanes also ferries. */
  readonly shortSea: boolean;
}

const p = (lat: number, lon: number): LatLon => ({ lat, lon });

export const PORTS: Readonly<Record<string, Port>> = Object.freeze({
  DUB: { name: 'DUBLIN', locode: 'IE DUB', berth: p(53.3465, -6.205), anchorage: p(53.34, -6.02), flag: 'IE' },
  HLY: { name: 'HOLYHEAD', locode: 'GB HLY', berth: p(53.317, -4.63), anchorage: p(53.335, -4.58), flag: 'GB' },
  LIV: { name: 'LIVERPOOL', locode: 'GB LIV', berth: p(53.446, -3.025), anchorage: p(53.48, -3.3), flag: 'GB' },
  RTM: { name: 'ROTTERDAM', locode: 'NL RTM', berth: p(51.95, 4.05), anchorage: p(52.05, 3.7), flag: 'NL' },
  FXT: { name: 'FELIXSTOWE', locode: 'GB FXT', berth: p(51.955, 1.32), anchorage: p(51.9, 1.55), flag: 'GB' },
  BRV: { name: 'BREMERHAVEN', locode: 'DE BRV', berth: p(53.56, 8.55), anchorage: p(53.95, 8.05), flag: 'DE' },
  SOU: { name: 'SOUTHAMPTON', locode: 'GB SOU', berth: p(50.9, -1.43), anchorage: p(50.72, -1.0), flag: 'GB' },
  LEH: { name: 'LE HAVRE', locode: 'FR LEH', berth: p(49.48, 0.11), anchorage: p(49.52, -0.05), flag: 'FR' },
  ALG: { name: 'ALGECIRAS', locode: 'ES ALG', berth: p(36.13, -5.44), anchorage: p(36.1, -5.38), flag: 'ES' },
  PSD: { name: 'PORT SAID', locode: 'EG PSD', berth: p(31.265, 32.305), anchorage: p(31.4, 32.35), flag: 'EG' },
  PIR: { name: 'PIRAEUS', locode: 'GR PIR', berth: p(37.94, 23.62), anchorage: p(37.9, 23.55), flag: 'GR' },
  MAR: { name: 'MARSAXLOKK', locode: 'MT MAR', berth: p(35.82, 14.545), anchorage: p(35.85, 14.62), flag: 'MT' },
  CPH: { name: 'COPENHAGEN', locode: 'DK CPH', berth: p(55.7, 12.6), anchorage: p(55.68, 12.7), flag: 'DK' },
  NYN: { name: 'NYNASHAMN', locode: 'SE NYN', berth: p(58.9, 17.96), anchorage: p(58.85, 18.05), flag: 'SE' },
  NYC: { name: 'NEW YORK', locode: 'US NYC', berth: p(40.668, -74.045), anchorage: p(40.58, -74.03), flag: 'US' },
  BOS: { name: 'BOSTON', locode: 'US BOS', berth: p(42.35, -71.03), anchorage: p(42.37, -70.9), flag: 'US' },
  LGB: { name: 'LONG BEACH', locode: 'US LGB', berth: p(33.74, -118.26), anchorage: p(33.7, -118.18), flag: 'US' },
  OAK: { name: 'OAKLAND', locode: 'US OAK', berth: p(37.8, -122.32), anchorage: p(37.78, -122.37), flag: 'US' },
  JEA: { name: 'JEBEL ALI', locode: 'AE JEA', berth: p(25.01, 55.06), anchorage: p(25.15, 54.95), flag: 'AE' },
  FJR: { name: 'FUJAIRAH', locode: 'AE FJR', berth: p(25.17, 56.36), anchorage: p(25.2, 56.45), flag: 'AE' },
  SIN: { name: 'SINGAPORE', locode: 'SG SIN', berth: p(1.265, 103.82), anchorage: p(1.23, 103.9), flag: 'SG' },
  PKG: { name: 'PORT KLANG', locode: 'MY PKG', berth: p(3.0, 101.36), anchorage: p(2.95, 101.25), flag: 'MY' },
});

export const LANES: readonly Lane[] = Object.freeze([
  { from: 'DUB', to: 'HLY', via: [p(53.345, -6.05), p(53.33, -5.2), p(53.33, -4.65)], shortSea: true },
  { from: 'DUB', to: 'LIV', via: [p(53.345, -6.05), p(53.55, -5.0), p(53.53, -3.6), p(53.46, -3.1)], shortSea: true },
  { from: 'RTM', to: 'FXT', via: [p(51.98, 3.7), p(51.95, 2.6), p(51.93, 1.65)], shortSea: true },
  {
    from: 'RTM',
    to: 'BRV',
    via: [p(52.05, 3.8), p(52.8, 4.3), p(53.65, 5.3), p(53.9, 7.0), p(53.95, 8.1), p(53.75, 8.45)],
    shortSea: false,
  },
  {
    from: 'RTM',
    to: 'ALG',
    via: [
      p(51.98, 3.7),
      p(51.5, 2.3),
      p(51.0, 1.5),
      p(50.5, 0.0),
      p(50.1, -2.0),
      p(49.6, -4.5),
      p(48.7, -5.8),
      p(45.5, -8.0),
      p(43.4, -9.8),
      p(40.0, -9.8),
      p(37.0, -9.3),
      p(36.0, -6.3),
      p(35.95, -5.6),
    ],
    shortSea: false,
  },
  { from: 'LEH', to: 'SOU', via: [p(49.6, -0.2), p(50.2, -0.9), p(50.68, -0.95), p(50.8, -1.3)], shortSea: true },
  {
    from: 'ALG',
    to: 'PSD',
    via: [
      p(36.0, -5.2),
      p(36.5, -2.0),
      p(37.5, 1.0),
      p(37.8, 6.0),
      p(37.6, 10.3),
      p(37.2, 11.6),
      p(35.95, 14.0),
      p(34.5, 20.0),
      p(33.2, 26.0),
      p(31.75, 32.0),
      p(31.4, 32.35),
    ],
    shortSea: false,
  },
  {
    from: 'PIR',
    to: 'MAR',
    via: [p(37.7, 23.5), p(37.35, 23.55), p(36.9, 23.4), p(36.0, 23.1), p(36.2, 19.0), p(35.8, 14.7)],
    shortSea: false,
  },
  {
    from: 'CPH',
    to: 'NYN',
    via: [p(55.62, 12.8), p(55.2, 13.0), p(55.45, 14.5), p(56.0, 16.3), p(56.5, 17.3), p(57.8, 18.0), p(58.7, 18.3)],
    shortSea: true,
  },
  {
    from: 'NYC',
    to: 'BOS',
    via: [
      p(40.606, -74.045),
      p(40.46, -73.83),
      p(40.4, -72.0),
      p(40.9, -70.5),
      p(41.2, -69.7),
      p(42.0, -69.6),
      p(42.37, -70.8),
    ],
    shortSea: true,
  },
  {
    from: 'NYC',
    to: 'SOU',
    via: [
      p(40.606, -74.045),
      p(40.46, -73.83),
      p(40.3, -70.0),
      p(41.0, -60.0),
      p(44.0, -45.0),
      p(47.5, -25.0),
      p(49.2, -10.0),
      p(49.6, -4.5),
      p(50.1, -2.0),
      p(50.68, -0.95),
      p(50.8, -1.3),
    ],
    shortSea: false,
  },
  {
    from: 'LGB',
    to: 'OAK',
    via: [
      p(33.7, -118.25),
      p(33.5, -118.6),
      p(33.6, -120.5),
      p(34.5, -121.0),
      p(35.6, -121.6),
      p(36.6, -122.2),
      p(37.75, -122.7),
      p(37.81, -122.48),
    ],
    shortSea: false,
  },
  {
    from: 'JEA',
    to: 'FJR',
    via: [p(25.15, 54.95), p(25.8, 55.5), p(26.65, 56.35), p(26.4, 56.75), p(25.6, 56.6), p(25.2, 56.45)],
    shortSea: false,
  },
  { from: 'SIN', to: 'PKG', via: [p(1.2, 103.6), p(1.55, 102.95), p(2.3, 101.9), p(2.9, 101.2)], shortSea: false },
]);

/** Fishing grounds: fishing vessels work slowly around these points. */
export const FISHING_GROUNDS: readonly { readonly at: LatLon; readonly flag: string }[] = Object.freeze([
  { at: p(53.8, -5.5), flag: 'IE' },
  { at: p(54.7, 2.0), flag: 'NL' },
  { at: p(46.5, -5.0), flag: 'FR' },
  { at: p(41.5, -67.5), flag: 'US' },
  { at: p(39.5, -9.6), flag: 'PT' },
  { at: p(55.6, 15.5), flag: 'DK' },
  { at: p(51.3, -10.5), flag: 'IE' },
]);

/**
 * A flag state: its maritime identification digits (the first three digits
 * of an MMSI, ITU-R M.585) and its call sign prefix (ITU allocation).
 */
export interface Flag {
  readonly mids: readonly number[];
  readonly callPrefix: readonly string[];
}

export const FLAGS: Readonly<Record<string, Flag>> = Object.freeze({
  IE: { mids: [250], callPrefix: ['EI'] },
  GB: { mids: [232, 233, 235], callPrefix: ['MZ', 'GD'] },
  NL: { mids: [244, 245], callPrefix: ['PD', 'PC'] },
  DE: { mids: [211, 218], callPrefix: ['DA', 'DC'] },
  FR: { mids: [227, 228], callPrefix: ['FN', 'FM'] },
  ES: { mids: [224, 225], callPrefix: ['EA', 'EB'] },
  PT: { mids: [263], callPrefix: ['CS'] },
  DK: { mids: [219, 220], callPrefix: ['OU', 'OZ'] },
  SE: { mids: [265, 266], callPrefix: ['SB', 'SC'] },
  GR: { mids: [237, 239, 240], callPrefix: ['SV', 'SX'] },
  MT: { mids: [229, 248, 249, 256], callPrefix: ['9H'] },
  US: { mids: [338, 366, 367, 368], callPrefix: ['WD', 'KC'] },
  AE: { mids: [470], callPrefix: ['A6'] },
  SG: { mids: [563, 564, 566], callPrefix: ['9V'] },
  PA: { mids: [351, 352, 353, 354, 370, 371, 372], callPrefix: ['3E', 'HO', 'HP'] },
  LR: { mids: [636], callPrefix: ['A8', 'D5'] },
  MH: { mids: [538], callPrefix: ['V7'] },
  BS: { mids: [308, 309, 311], callPrefix: ['C6'] },
  HK: { mids: [477], callPrefix: ['VR'] },
  CY: { mids: [209, 210, 212], callPrefix: ['5B'] },
  EG: { mids: [622], callPrefix: ['SU'] },
  MY: { mids: [533], callPrefix: ['9M'] },
});

/** Flags of the deep-sea fleet, weighted roughly by registered tonnage. */
export const DEEP_SEA_FLAGS: ReadonlyArray<readonly [string, number]> = Object.freeze([
  ['PA', 16],
  ['LR', 16],
  ['MH', 12],
  ['HK', 7],
  ['SG', 6],
  ['MT', 6],
  ['BS', 4],
  ['GR', 3],
  ['CY', 2],
  ['GB', 1],
  ['DE', 1],
  ['NL', 1],
  ['DK', 1],
] as const);

export const SHIP_NAME_WORDS: readonly string[] = Object.freeze([
  'ATLANTIC',
  'AURORA',
  'BALTIC',
  'BOREAS',
  'CELTIC',
  'CORAL',
  'DAWN',
  'ENDEAVOUR',
  'FALCON',
  'FORTUNE',
  'GALAXY',
  'HARMONY',
  'HORIZON',
  'ISLAND',
  'JADE',
  'LIBERTY',
  'MARINER',
  'MERIDIAN',
  'NEPTUNE',
  'NORDIC',
  'OCEAN',
  'ORION',
  'PACIFIC',
  'PEARL',
  'PIONEER',
  'POLARIS',
  'PRIDE',
  'SEAWAY',
  'SPIRIT',
  'STAR',
  'SUMMIT',
  'TRADER',
  'TRIDENT',
  'VENTURE',
  'VOYAGER',
  'ZEPHYR',
]);
