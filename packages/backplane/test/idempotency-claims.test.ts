import { startRedis, type TestRedis } from '@hydra/test-support';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type PublishEvent, parseRetention, RedisBackplane, redisKeys } from '../src/index.js';
import { waitFor } from './event-bus.contract.js';

/**
 * How publish-batch.lua keeps a log scope's idempotency claims on Redis
 * (lua/lib/claims.lua): one HASH of claims and one ZSET of when each
 * expires, forgotten in batches by later publish runs once the dedupe window
 * has passed. What a publisher sees (duplicates answered with the original
 * seq, keys forgotten after the window) is the event-bus contract's; these
 * tests hold the storage to its bounds.
 */

const CLAIMS = redisKeys.scopeIdempotencyClaims('signals');
const EXPIRY = redisKeys.scopeIdempotencyClaimExpiry('signals');

let testRedis: TestRedis;
let admin: Redis;

beforeAll(async () => {
  testRedis = await startRedis();
  admin = testRedis.client();
});

beforeEach(async () => {
  await admin.flushall();
});

afterAll(async () => {
  admin?.disconnect();
  await testRedis?.stop();
});

async function withBus<T>(dedupeWindowMs: number, use: (bus: RedisBackplane['bus']) => Promise<T>): Promise<T> {
  const backplane = new RedisBackplane({
    url: testRedis.url,
    retention: parseRetention('signals:max=1000'),
    dedupeWindowMs,
  });
  try {
    return await use(backplane.bus);
  } finally {
    await backplane.close();
  }
}

const keyed = (from: number, count: number): PublishEvent[] =>
  Array.from({ length: count }, (_, i) => ({
    scope: 'signals',
    data: { n: from + i },
    idempotencyKey: `k${from + i}`,
  }));

/** Resolves once Redis' own clock has passed `ms` (the claims' ts are Redis time). */
async function untilRedisTime(ms: number): Promise<void> {
  const now = async () => {
    const [s, us] = await admin.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };
  await waitFor(async () => (await now()) > ms, 10_000, `Redis time past ${ms}`);
}

describe('idempotency claims on Redis', () => {
  it('are one hash and one sorted set, which expire a window after the newest claim', async () => {
    await withBus(60_000, async (bus) => {
      await bus.publish(keyed(0, 3));
      await bus.publish([{ scope: 'signals', data: { n: 'unkeyed' } }]);
      expect(await admin.hlen(CLAIMS)).toBe(3);
      expect(await admin.zcard(EXPIRY)).toBe(3);
      for (const key of [CLAIMS, EXPIRY]) {
        const ttl = await admin.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
      // Nothing else: no key per idempotency key.
      expect((await admin.keys('hydra:{signals}:*')).sort()).toEqual(
        [CLAIMS, EXPIRY, ...['history', 'recent', 'seq'].map((k) => `hydra:{signals}:${k}`)].sort(),
      );
    });
  });

  it('live as long as the window of the publisher that made them, whoever reads them', async () => {
    const long = new RedisBackplane({ url: testRedis.url, retention: parseRetention(''), dedupeWindowMs: 60_000 });
    const short = new RedisBackplane({ url: testRedis.url, retention: parseRetention(''), dedupeWindowMs: 300 });
    try {
      const [longClaim] = await long.bus.publish(keyed(0, 1));
      const [shortClaim] = await short.bus.publish(keyed(1, 1));
      // The short window's run neither shortened the keys' TTL nor will forget the long claim.
      expect(await admin.pttl(CLAIMS)).toBeGreaterThan(50_000);
      await untilRedisTime(shortClaim!.ts + 300);
      const [retryOfLong] = await short.bus.publish(keyed(0, 1));
      expect(retryOfLong).toMatchObject({ seq: longClaim!.seq, duplicate: true });
      const [retryOfShort] = await long.bus.publish(keyed(1, 1));
      expect(retryOfShort!.duplicate).toBeUndefined();
      expect(retryOfShort!.seq).toBe(3);
    } finally {
      await Promise.all([long.close(), short.close()]);
    }
  });

  it('all go a window after the newest claim when the scope stops publishing', async () => {
    const windowMs = 300;
    await withBus(windowMs, async (bus) => {
      const published = await bus.publish(keyed(0, 3));
      await untilRedisTime(published[2]!.ts + windowMs);
      await waitFor(async () => (await admin.exists(CLAIMS, EXPIRY)) === 0, 5_000, 'the claims to expire');
      // Expired, not merely forgotten: the keys are stored again.
      expect((await bus.publish(keyed(0, 3))).map((p) => p.duplicate)).toEqual([undefined, undefined, undefined]);
    });
  });

  /**
   * 600 claims at t0, then one more at t0 + window/2 (which keeps both keys
   * alive another window); past t0 + window the old 600 are expired. Every
   * step after that must happen before t0 + 1.5 windows, when the newer claim
   * expires too: a window of 3 s leaves a loaded machine 1.5 s.
   */
  async function expiredBehindALiveClaim(bus: RedisBackplane['bus'], windowMs: number): Promise<void> {
    const first = await bus.publish(keyed(0, 600)); // three chunks: 256 + 256 + 88 claims
    const t0 = first[599]!.ts;
    await untilRedisTime(t0 + windowMs / 2);
    await bus.publish([{ scope: 'signals', data: { n: 'live' }, idempotencyKey: 'live' }]);
    await untilRedisTime(t0 + windowMs);
  }

  it('are forgotten by later publish runs once the window has passed, at most 512 per run', async () => {
    await withBus(3_000, async (bus) => {
      await expiredBehindALiveClaim(bus, 3_000);
      expect(await admin.hlen(CLAIMS)).toBe(601);
      await bus.publish([{ scope: 'signals', data: { n: 'unkeyed' } }]);
      expect(await admin.hlen(CLAIMS)).toBe(89);
      expect(await admin.zcard(EXPIRY)).toBe(89);
      await bus.publish([{ scope: 'signals', data: { n: 'unkeyed' } }]);
      expect(await admin.hkeys(CLAIMS)).toEqual(['live']);
      expect(await admin.zcard(EXPIRY)).toBe(1);
    });
  });

  it('an expired claim not yet forgotten is no duplicate, and its key takes a new claim', async () => {
    await withBus(3_000, async (bus) => {
      await expiredBehindALiveClaim(bus, 3_000);
      // The first run after the expiry forgets the 512 lowest (expiry, key): k599 is never among them (its
      // chunk, the last of three, expires last; on a tie with the others, 'k599' sorts 556th of the 600).
      expect(await admin.hexists(CLAIMS, 'k599')).toBe(1);
      const [again] = await bus.publish(keyed(599, 1));
      expect(again).toMatchObject({ seq: 602 });
      expect(again!.duplicate).toBeUndefined();
      // This run forgets the other expired claims; k599's new one stays.
      await bus.publish([{ scope: 'signals', data: { n: 'unkeyed' } }]);
      expect(await admin.hget(CLAIMS, 'k599')).toBe(`602:${again!.ts}:${again!.ts + 3_000}`);
      expect((await admin.hkeys(CLAIMS)).sort()).toEqual(['k599', 'live']);
      const [retry] = await bus.publish(keyed(599, 1));
      expect(retry).toMatchObject({ seq: 602, duplicate: true });
    });
  });
});
