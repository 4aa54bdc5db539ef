/** Reconnect delays (ms). */
export interface BackoffOptions {
  /** Base of the exponential backoff: attempt n waits up to initialMs · 2^n. Default 500. */
  initialMs?: number;
  /** Upper bound of any delay except an explicit Retry-After. Default 30 000. */
  maxMs?: number;
  /** Least delay after 429 (too many connections) or 1013 (try again later) without Retry-After. Default 5 000. */
  busyMs?: number;
  /** Window of the first retry after a drain (1001): uniformly random in [0, drainMs). Default 1 000. */
  drainMs?: number;
}

export type Backoff = Required<BackoffOptions>;

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, busyMs: 5_000, drainMs: 1_000 };

/** Exponential backoff with full jitter: uniformly random in [0, min(maxMs, initialMs · 2^attempt)). */
export function fullJitter(attempt: number, b: Backoff, random: () => number): number {
  return random() * Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 30));
}

/** After 429 or 1013: the server's Retry-After if it gave one, else busyMs plus a full-jitter spread. */
export function busyDelay(attempt: number, b: Backoff, random: () => number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return retryAfterMs + random() * b.initialMs;
  return Math.min(b.maxMs, b.busyMs + fullJitter(attempt, b, random));
}

/** A Retry-After header value (seconds, or an HTTP date) in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
