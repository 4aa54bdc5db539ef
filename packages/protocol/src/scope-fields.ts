import {
  arrayOf,
  boolean,
  DROP,
  epochMs,
  expected,
  type FieldRule,
  finiteNumber,
  latitude,
  longitude,
  nonEmptyString,
  nonNegativeNumber,
  numberIn,
  objectWith,
  oneOf,
  pattern,
  string,
  withSentinel,
} from './field-rules.js';
import { geoJsonGeometry } from './geojson-geometry.js';
import type { Scope } from './scopes.js';

/*
 * The known fields of each scope (reference/data-model.md). Only these are
 * checked; every other field passes through unchanged. `id` is not listed:
 * the validator checks it per scope kind.
 */

/** Flat WGS84 point and GeoJSON area/track: the same meaning in every scope. */
const COMMON: Readonly<Record<string, FieldRule>> = {
  lat: latitude,
  lon: longitude,
  geometry: geoJsonGeometry,
};

const confidence = numberIn(0, 100);
const bearingDeg = numberIn(0, 360, { maxExclusive: true });

/** readsb/tar1090 and OpenSky state vectors, converted to feet, knots and ft/min upstream. */
const AIRCRAFT: Readonly<Record<string, FieldRule>> = {
  ...COMMON,
  // Accepts either case; stored lowercase (the OpenSky and readsb spelling).
  icao24: (v) =>
    typeof v === 'string' && /^[0-9a-fA-F]{6}$/.test(v)
      ? v === v.toLowerCase()
        ? undefined
        : { replace: v.toLowerCase() }
      : expected('6 hex digits (ICAO 24-bit address)', v),
  // OpenSky pads callsigns to 8 characters: stored trimmed; all blanks means absent.
  callsign: (v) => {
    if (typeof v !== 'string') return expected('a string', v);
    const trimmed = v.trim();
    if (trimmed === '') return DROP;
    return trimmed === v ? undefined : { replace: trimmed };
  },
  // readsb writes `alt_baro: "ground"`: no barometric altitude, so absent.
  altBaroFt: (v) => (v === 'ground' ? DROP : finiteNumber(v)),
  altGeomFt: finiteNumber,
  onGround: boolean,
  groundSpeedKt: nonNegativeNumber,
  trackDeg: numberIn(0, 360),
  vertRateFpm: finiteNumber,
  squawk: pattern(/^[0-7]{4}$/, 'a string of 4 octal digits'),
  emergency: oneOf(['none', 'general', 'lifeguard', 'minfuel', 'nordo', 'unlawful', 'downed']),
  category: pattern(/^[A-D][0-7]$/, 'an emitter category "A0" to "D7"'),
  // An open list (adsb, mlat, tisb, adsr, adsc, flarm, asterix, other, …): a lowercase token.
  positionSource: pattern(/^[a-z][a-z0-9_]{0,31}$/, 'a lowercase token such as adsb or mlat'),
  lastSeenTs: epochMs,
};

/** AIS (ITU-R M.1371). Its "not available" codes are removed, never stored as values. */
const VESSELS: Readonly<Record<string, FieldRule>> = {
  ...COMMON,
  mmsi: pattern(/^[0-9]{9}$/, 'a string of 9 digits (MMSI)'),
  lat: withSentinel(91, latitude),
  lon: withSentinel(181, longitude),
  sogKt: withSentinel(102.3, nonNegativeNumber),
  cogDeg: withSentinel(360, bearingDeg),
  headingDeg: withSentinel(511, bearingDeg),
  navStatus: numberIn(0, 15, { integer: true }),
  name: string,
  callSign: string,
  imo: (v) =>
    (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 9_999_999) ||
    (typeof v === 'string' && /^[0-9]{7}$/.test(v))
      ? undefined
      : expected('an IMO number (7 digits, as a number or a string)', v),
  shipType: numberIn(0, 99, { integer: true }),
  lengthM: nonNegativeNumber,
  beamM: nonNegativeNumber,
  draughtM: nonNegativeNumber,
  destination: string,
  etaTs: epochMs,
};

/** CAP 1.2 dateTime as CAP writes it (`2024-03-10T14:30:00-05:00`); `Z` is tolerated. */
const capDateTime = pattern(
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/,
  'a CAP date-time string such as 2024-03-10T14:30:00-05:00',
);

/** OASIS CAP 1.2 element names and enum spellings; the area is a GeoJSON `geometry` (in COMMON). */
const ALERTS: Readonly<Record<string, FieldRule>> = {
  ...COMMON,
  identifier: string,
  sender: string,
  sent: capDateTime,
  status: oneOf(['Actual', 'Exercise', 'System', 'Test', 'Draft']),
  msgType: oneOf(['Alert', 'Update', 'Cancel', 'Ack', 'Error']),
  category: oneOf([
    'Geo',
    'Met',
    'Safety',
    'Security',
    'Rescue',
    'Fire',
    'Health',
    'Env',
    'Transport',
    'Infra',
    'CBRNE',
    'Other',
  ]),
  event: string,
  urgency: oneOf(['Immediate', 'Expected', 'Future', 'Past', 'Unknown']),
  severity: oneOf(['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown']),
  certainty: oneOf(['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown']),
  headline: string,
  description: string,
  expires: capDateTime,
};

/** STIX 2.1 carried whole under `stix`, plus flat fields for filtering. */
const CYBER: Readonly<Record<string, FieldRule>> = {
  ...COMMON,
  // Only the STIX `type` is checked: the object (or bundle) is otherwise carried as STIX tooling wrote it.
  stix: objectWith({ type: nonEmptyString(256) }, ['type']),
  kind: oneOf(['indicator', 'vulnerability']),
  cveIds: arrayOf(pattern(/^CVE-\d{4}-\d{4,}$/, 'a CVE id such as CVE-2024-3094'), 'CVE ids'),
  cvss: objectWith({
    version: pattern(/^\d+\.\d+$/, 'a CVSS version string such as "3.1"'),
    vectorString: string,
    baseScore: numberIn(0, 10),
    baseSeverity: oneOf(['NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']),
  }),
  confidence,
  indicatorTypes: arrayOf(string, 'strings'),
  // MISP attribute types are an open list (ip-src, domain, url, sha256, filename|sha256, …).
  iocType: pattern(/^[a-z0-9][a-z0-9|-]{0,63}$/, 'a MISP attribute type such as ip-src or sha256'),
  value: string,
};

/** SigMF (rf) and GDELT (osint) drawn fields. */
const SIGNALS: Readonly<Record<string, FieldRule>> = {
  ...COMMON,
  kind: oneOf(['rf', 'osint']),
  label: string,
  ts: epochMs,
  tsEnd: epochMs,
  confidence,
  freqHz: nonNegativeNumber,
  bandwidthHz: nonNegativeNumber,
  modulation: string,
  powerDbfs: finiteNumber,
  sensorId: string,
  url: pattern(/^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/, 'an absolute URL'),
  // CAMEO codes have meaningful leading zeros ("043"): a string, never a number.
  code: pattern(/^[0-9]{2,4}$/, 'a CAMEO event code string such as "043"'),
  tone: finiteNumber,
};

/** Known fields of each scope as `[name, rule]` pairs, ready for a tight loop. */
export const SCOPE_FIELD_RULES: Readonly<Record<Scope, ReadonlyArray<readonly [string, FieldRule]>>> = Object.freeze({
  aircraft: Object.entries(AIRCRAFT),
  vessels: Object.entries(VESSELS),
  alerts: Object.entries(ALERTS),
  cyber: Object.entries(CYBER),
  signals: Object.entries(SIGNALS),
});

/**
 * Checks across fields of one scope, run on the normalised data after every
 * field passed its rule. Returns the reason's path and problem, or undefined.
 */
export const SCOPE_CROSS_CHECKS: Readonly<
  Partial<Record<Scope, (data: Readonly<Record<string, unknown>>) => string | undefined>>
> = Object.freeze({
  signals: (data) => {
    const { ts, tsEnd } = data;
    return typeof ts === 'number' && typeof tsEnd === 'number' && tsEnd < ts
      ? `signals.data.tsEnd: expected a time >= ts (${ts}), got ${tsEnd}`
      : undefined;
  },
});
