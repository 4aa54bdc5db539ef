export interface BackoffOptions {
  /** Delay before the first retry (ms, default 500). */
  initialMs: number;
  /** Upper bound of any delay (ms, default 30 000). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ initialMs: 500, maxMs: 30_000 });

/**
 * Delay before retry number `attempt` (0-based): exponential, capped, with
 * "equal jitter" — a uniformly random delay in [d/2, d] where
 * d = min(maxMs, initialMs · 2^attempt). The random half spreads clients that
 * a gateway restart disconnected at once; the fixed half keeps a minimum wait.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const exp = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return exp / 2 + random() * (exp / 2);
}
