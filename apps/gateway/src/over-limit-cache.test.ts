import { describe, expect, it } from 'vitest';
import { OverLimitCache } from './over-limit-cache.js';

describe('OverLimitCache', () => {
  it('reuses a refusal for its TTL, then lets exactly one upgrade ask the limiter again', () => {
    const cache = new OverLimitCache({ ttlMs: 1000 });
    expect(cache.isOverLimit('10.0.0.1', 0)).toBe(false);
    cache.onDecision('10.0.0.1', false, 0);
    expect(cache.isOverLimit('10.0.0.1', 999)).toBe(true);
    expect(cache.isOverLimit('10.0.0.2', 999)).toBe(false);
    expect(cache.isOverLimit('10.0.0.1', 1000)).toBe(false); // the probe
    expect(cache.isOverLimit('10.0.0.1', 1001)).toBe(true); // the others wait for its answer
    cache.onDecision('10.0.0.1', false, 1002);
    expect(cache.isOverLimit('10.0.0.1', 2001)).toBe(true);
    expect(cache.isOverLimit('10.0.0.1', 2002)).toBe(false);
    cache.onDecision('10.0.0.1', true, 2003);
    expect(cache.isOverLimit('10.0.0.1', 2004)).toBe(false);
  });

  it('gives up on a probe that never answers after another TTL', () => {
    const cache = new OverLimitCache({ ttlMs: 1000 });
    cache.onDecision('10.0.0.1', false, 0);
    expect(cache.isOverLimit('10.0.0.1', 1500)).toBe(false);
    expect(cache.isOverLimit('10.0.0.1', 1999)).toBe(true);
    expect(cache.isOverLimit('10.0.0.1', 2000)).toBe(false);
  });

  it('forgets an IP as soon as one of its slots is released locally', () => {
    const cache = new OverLimitCache({ ttlMs: 1000 });
    cache.onDecision('10.0.0.1', false, 0);
    cache.onRelease('10.0.0.1');
    expect(cache.isOverLimit('10.0.0.1', 1)).toBe(false);
  });

  it('is off with a TTL of 0', () => {
    const cache = new OverLimitCache({ ttlMs: 0 });
    cache.onDecision('10.0.0.1', false, 0);
    expect(cache.isOverLimit('10.0.0.1', 0)).toBe(false);
  });

  it('holds refusals 1 s, or a tenth of a shorter limiter lease', () => {
    expect(OverLimitCache.ttlFor(30_000)).toBe(1000);
    expect(OverLimitCache.ttlFor(1500)).toBe(150);
  });

  it('stays bounded under a flood of distinct IPs', () => {
    const cache = new OverLimitCache({ ttlMs: 1000, maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) cache.onDecision(`10.0.${i >> 8}.${i & 255}`, false, 0);
    expect(cache.isOverLimit('10.0.39.15', 1)).toBe(true); // the newest survive
    expect(cache.isOverLimit('10.0.0.0', 1)).toBe(false); // the oldest made room
  });
});
