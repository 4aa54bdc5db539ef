import { cappedBackoffDelay } from '@hydra/protocol';

/** Wait after failed attempt n (1-based): 100 ms doubling, capped at `maxMs` (default 2 s). */
function retryDelay(attempt: number, maxMs = 2_000): number {
  return cappedBackoffDelay(attempt - 1, { initialMs: 100, maxMs });
}

export interface RetryOptions {
  /** Checked before each attempt and after each wait: true stops the loop (resolves false). */
  cancelled: () => boolean;
  /** Called with each failure and the attempt number; must not throw. */
  onFailure?: (err: unknown, attempt: number) => void;
  maxDelayMs?: number;
}

/**
 * Runs `attempt` until it resolves, waiting with capped exponential backoff
 * between failures (no limit on attempts: the backplane is expected to come
 * back). Resolves true once it succeeded, false if cancelled first.
 */
export async function retryUntilDone(attempt: () => Promise<void>, options: RetryOptions): Promise<boolean> {
  for (let n = 1; !options.cancelled(); n++) {
    try {
      await attempt();
      return true;
    } catch (err) {
      options.onFailure?.(err, n);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, retryDelay(n, options.maxDelayMs)).unref());
  }
  return false;
}

export interface BoundedRetryOptions {
  /** Attempts in all (the first included). */
  attempts: number;
  /** Checked after each failure but the last: false gives up at once with that failure. */
  retryable: (err: unknown) => boolean;
  /** Called with each failure that is retried and its attempt number; must not throw. */
  onRetry?: (err: unknown, attempt: number) => void;
  maxDelayMs?: number;
}

/**
 * Runs `attempt` at most `options.attempts` times, waiting with the same
 * capped backoff as retryUntilDone between failures while they are
 * `retryable`. Resolves with the first success; rejects with the last
 * failure (the attempts ran out, or it was not retryable).
 */
export async function retryBounded<T>(attempt: () => Promise<T>, options: BoundedRetryOptions): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= options.attempts || !options.retryable(err)) throw err;
      options.onRetry?.(err, n);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, retryDelay(n, options.maxDelayMs)).unref());
  }
}
