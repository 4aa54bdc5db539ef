/** One reading of a gateway's /metrics. */
export interface GatewaySample {
  /** ms since the soak started */
  at: number;
  rss: number;
  heap: number;
  connections: number;
  cpuSeconds: number;
}

/**
 * Least-squares slope of `value` over time, in MiB per hour, over the
 * samples at or after `fromMs` (NaN with fewer than 3 such samples).
 */
export function slopeMiBPerHour(
  samples: readonly GatewaySample[],
  value: (s: GatewaySample) => number,
  fromMs: number,
) {
  const points = samples.filter((s) => s.at >= fromMs && Number.isFinite(value(s)));
  if (points.length < 3) return Number.NaN;
  const xs = points.map((s) => s.at / 3_600_000);
  const ys = points.map((s) => value(s) / 1_048_576);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}
