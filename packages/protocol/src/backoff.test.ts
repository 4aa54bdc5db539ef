import { describe, expect, it } from 'vitest';
import { cappedBackoffDelay } from './backoff.js';

describe('cappedBackoffDelay', () => {
  it('doubles per attempt from initialMs, 0-based, up to maxMs', () => {
    const policy = { initialMs: 100, maxMs: 2_000 };
    expect([0, 1, 2, 3, 4, 5, 50, 10_000].map((n) => cappedBackoffDelay(n, policy))).toEqual([
      100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000,
    ]);
  });
});
