import { describe, expect, it } from 'vitest';
import { cappedBackoffDelay, jitteredBackoffDelay } from './backoff.js';

describe('cappedBackoffDelay', () => {
  it('doubles per attempt from initialMs, 0-based, up to maxMs', () => {
    const policy = { initialMs: 100, maxMs: 2_000 };
    expect([0, 1, 2, 3, 4, 5, 50, 10_000].map((n) => cappedBackoffDelay(n, policy))).toEqual([
      100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000,
    ]);
  });
});

describe('jitteredBackoffDelay', () => {
  const options = { initialMs: 500, maxMs: 30_000 };

  it('doubles per attempt with equal jitter and stays under the cap', () => {
    expect(jitteredBackoffDelay(0, options, () => 0)).toBe(250);
    expect(jitteredBackoffDelay(0, options, () => 0.999_999)).toBeCloseTo(500, 0);
    expect(jitteredBackoffDelay(3, options, () => 0)).toBe(2_000);
    expect(jitteredBackoffDelay(10, options, () => 0)).toBe(15_000);
    expect(jitteredBackoffDelay(1_000, options, () => 0.999_999)).toBeLessThanOrEqual(30_000);
    for (let attempt = 0; attempt < 20; attempt++) {
      const d = jitteredBackoffDelay(attempt, options, Math.random);
      const cap = Math.min(30_000, 500 * 2 ** attempt);
      expect(d).toBeGreaterThanOrEqual(cap / 2);
      expect(d).toBeLessThanOrEqual(cap);
    }
  });
});
