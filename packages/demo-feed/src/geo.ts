/** Spherical-earth navigation in degrees and nautical miles (good to ~0.5 % for display data). */

export interface LatLon {
  readonly lat: number;
  readonly lon: number;
}

/** Mean earth radius in nautical miles. */
const EARTH_RADIUS_NM = 3440.065;
const RAD = Math.PI / 180;
const DEG = 180 / Math.PI;

/** Great-circle distance (haversine). */
export function distanceNm(a: LatLon, b: LatLon): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLon = (b.lon - a.lon) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_NM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Initial great-circle bearing from `a` towards `b`, in [0, 360). */
export function bearingDeg(a: LatLon, b: LatLon): number {
  const φ1 = a.lat * RAD;
  const φ2 = b.lat * RAD;
  const dλ = (b.lon - a.lon) * RAD;
  const y = Math.sin(dλ) * Math.cos(φ2);
  const x = Math.cos(φ1) * Math.sin(φ2) - Math.sin(φ1) * Math.cos(φ2) * Math.cos(dλ);
  return normalizeBearing(Math.atan2(y, x) * DEG);
}

/** The point `distance` nautical miles from `from` along the initial bearing `bearing`. */
export function destinationPoint(from: LatLon, bearing: number, distance: number): LatLon {
  const δ = distance / EARTH_RADIUS_NM;
  const θ = bearing * RAD;
  const φ1 = from.lat * RAD;
  const λ1 = from.lon * RAD;
  const sinφ2 = Math.sin(φ1) * Math.cos(δ) + Math.cos(φ1) * Math.sin(δ) * Math.cos(θ);
  const φ2 = Math.asin(Math.max(-1, Math.min(1, sinφ2)));
  const λ2 = λ1 + Math.atan2(Math.sin(θ) * Math.sin(δ) * Math.cos(φ1), Math.cos(δ) - Math.sin(φ1) * sinφ2);
  return { lat: φ2 * DEG, lon: normalizeLon(λ2 * DEG) };
}

/** The point a fraction `f` (0..1) of the way from `a` to `b` along their great circle. */
export function intermediatePoint(a: LatLon, b: LatLon, f: number): LatLon {
  const d = distanceNm(a, b);
  if (d < 1e-9) return { lat: a.lat, lon: a.lon };
  return destinationPoint(a, bearingDeg(a, b), d * f);
}

/** A bearing in [0, 360), also after rounding (359.96 → 0, never 360). */
export function normalizeBearing(deg: number): number {
  const b = ((deg % 360) + 360) % 360;
  return b >= 360 ? 0 : b;
}

export function normalizeLon(deg: number): number {
  const l = ((((deg + 180) % 360) + 360) % 360) - 180;
  return l === -180 ? 180 : l;
}

/** Rounds to `decimals` places (for wire values: 5 places of a degree is about 1 m). */
export function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Rounds a bearing to one decimal, staying in [0, 360). */
export function roundBearing(deg: number): number {
  const r = round(normalizeBearing(deg), 1);
  return r >= 360 ? 0 : r;
}
