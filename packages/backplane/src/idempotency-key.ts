import type { PublishEvent } from './event-bus.js';

/** Longest idempotency key the bus stores (derive longer ones by hashing: the publisher's idempotency.ts). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** Longest dedupe window: one day (keys are held in Redis memory for the whole window). */
export const MAX_DEDUPE_WINDOW_MS = 86_400_000;

/**
 * The event's idempotency key, or undefined when it has none. Throws a
 * TypeError for a key that is not a non-empty string of at most
 * MAX_IDEMPOTENCY_KEY_LENGTH characters (the bus validates a whole batch
 * before storing any of it).
 */
export function idempotencyKeyOf(event: PublishEvent): string | undefined {
  const key = event.idempotencyKey;
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key === '' || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new TypeError(
      `${event.scope} event: idempotencyKey must be a non-empty string of at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  return key;
}

/** Returns a valid dedupe window (integer ms, 0 = off, at most one day) or throws a RangeError. */
export function assertDedupeWindow(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_DEDUPE_WINDOW_MS) {
    throw new RangeError(`dedupe window must be an integer from 0 to ${MAX_DEDUPE_WINDOW_MS} ms, got ${String(ms)}`);
  }
  return ms;
}
