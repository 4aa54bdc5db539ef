/**
 * Capped exponential backoff, the one policy behind every retry loop: the
 * gateway's and publisher's retries of the backplane (deterministic) and a
 * stream client's reconnects (jittered, so the clients one gateway restart
 * dropped do not all come back in the same instant).
 */
export interface BackoffPolicy {
  /** Delay before the first retry (ms). */
  initialMs: number;
  /** Upper bound of any delay (ms). */
  maxMs: number;
}

/** Delay before retry number `attempt` (0-based): min(maxMs, initialMs · 2^attempt). */
export function cappedBackoffDelay(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
}

/**
 * cappedBackoffDelay with "equal jitter": uniformly random in [d/2, d] where
 * d = cappedBackoffDelay(attempt). The random half spreads clients that were
 * disconnected at once; the fixed half keeps a minimum wait. `random` is in [0, 1).
 */
export function jitteredBackoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const capped = cappedBackoffDelay(attempt, policy);
  return capped / 2 + random() * (capped / 2);
}
