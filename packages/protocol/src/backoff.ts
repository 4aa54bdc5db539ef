/**
 * Capped exponential backoff of the servers' retry loops (the gateway's and
 * publisher's retries of the backplane; deterministic). Stream clients
 * reconnect by @hydra/client's reconnect policy (full jitter, per close code).
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
