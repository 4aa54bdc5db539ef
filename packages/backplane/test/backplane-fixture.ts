import type { RedisTarget } from '@hydra/config';
import type { TestRedis } from '@hydra/test-support';
import type { Redis } from 'ioredis';
import { type Backplane, MemoryBackplane, RedisBackplane, type RetentionPolicy } from '../src/index.js';

/** One backend under test, as whole backplanes (history and expiry live at that level). */
export interface BackplaneFixture {
  backplane: Backplane;
  /**
   * Another process's backplane on the same shared state: a second
   * RedisBackplane (its own connections) on Redis; the same instance in
   * memory, which is for one process only.
   */
  peer: Backplane;
  /**
   * Lets `ms` of backplane time pass: real time on Redis (its server clock
   * judges TTLs and ages), the injected clock in memory (instant).
   */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Builds a fixture on empty state with the given retention. */
export type BackplaneFactory = (retention: RetentionPolicy) => Promise<BackplaneFixture>;

/** Backplanes on a flushed `testRedis()`; `admin` flushes it. */
export function redisBackplaneFactory(testRedis: () => TestRedis, admin: () => Redis): BackplaneFactory {
  return topologyBackplaneFactory(
    () => ({ url: testRedis().url }),
    async () => {
      await admin().flushall();
    },
  );
}

/**
 * Backplanes on any Redis topology (one Redis, Sentinel, Cluster) as an
 * operator names it; `flush` empties it first (every master of a cluster).
 */
export function topologyBackplaneFactory(
  target: () => RedisTarget | { url: string },
  flush: () => Promise<void>,
): BackplaneFactory {
  return async (retention) => {
    await flush();
    const named = target();
    const options = 'url' in named ? { url: named.url } : { target: named };
    const backplane = new RedisBackplane({ ...options, retention });
    const peer = new RedisBackplane({ ...options, retention });
    return {
      backplane,
      peer,
      elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      close: async () => {
        await Promise.all([backplane.close(), peer.close()]);
      },
    };
  };
}

/** A MemoryBackplane whose clock is real time plus whatever elapse() added. */
export const memoryBackplaneFactory: BackplaneFactory = async (retention) => {
  let offset = 0;
  const backplane = new MemoryBackplane({ retention, now: () => Date.now() + offset });
  return {
    backplane,
    peer: backplane,
    elapse: async (ms) => {
      offset += ms;
    },
    close: () => backplane.close(),
  };
};
