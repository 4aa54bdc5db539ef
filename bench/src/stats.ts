/** Small statistics over repeated rounds. */

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Relative difference |a − b| / mean(a, b): the noise between two runs of the same server. */
export function relativeSpread(a: number, b: number): number {
  const mean = (Math.abs(a) + Math.abs(b)) / 2;
  return mean > 0 ? Math.abs(a - b) / mean : 0;
}

/**
 * A ratio ours/peer is reported only when it differs from 1 by more than the
 * noise measured between our two instances; otherwise it is "≈" (within noise).
 */
export function ratioBeyondNoise(ours: number, peer: number, noise: number): { ratio: number; significant: boolean } {
  const ratio = ours / peer;
  if (!Number.isFinite(ratio)) return { ratio, significant: false };
  return { ratio, significant: Math.abs(Math.log(ratio)) > Math.log(1 + noise) };
}

/** Whether RSS samples (one reading window) are calm: span ≤ max(1 MiB, 1.5% of their median). */
export function calm(xs: readonly number[]): boolean {
  const v = xs.filter(Number.isFinite);
  if (v.length === 0) return false;
  return Math.max(...v) - Math.min(...v) <= Math.max(2 ** 20, 0.015 * median(v));
}
