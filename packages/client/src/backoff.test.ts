import { describe, expect, it } from 'vitest';
import { busyDelay, DEFAULT_BACKOFF, fullJitter, parseRetryAfter } from './backoff.js';

describe('backoff', () => {
  it('full jitter: uniformly in [0, min(max, initial · 2^attempt))', () => {
    expect(fullJitter(0, DEFAULT_BACKOFF, () => 0.999)).toBeCloseTo(499.5);
    expect(fullJitter(3, DEFAULT_BACKOFF, () => 0.5)).toBe(2000);
    expect(fullJitter(40, DEFAULT_BACKOFF, () => 0.5)).toBe(15_000);
    expect(fullJitter(5, DEFAULT_BACKOFF, () => 0)).toBe(0);
  });

  it('busy (429, 1013): Retry-After when given, else at least busyMs', () => {
    expect(busyDelay(0, DEFAULT_BACKOFF, () => 0, 7000)).toBe(7000);
    expect(busyDelay(0, DEFAULT_BACKOFF, () => 0, undefined)).toBe(5000);
    expect(busyDelay(10, DEFAULT_BACKOFF, () => 0.9, undefined)).toBe(30_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});
