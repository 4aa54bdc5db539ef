import { startRedis, type TestRedis } from '@hydra/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConnectionLimiter,
  MemoryConnectionLimiter,
  MemoryLimiterState,
  RedisConnectionLimiter,
  redisKeys,
} from '../src/index.js';
import { connectionLimiterContract } from './connection-limiter.contract.js';

let testRedis: TestRedis;
let admin: Redis;

beforeAll(async () => {
  testRedis = await startRedis();
  admin = testRedis.client();
});

afterAll(async () => {
  await testRedis?.stop();
});

/** Deletes `nodeId`'s fields from every per-IP hash: what an acquire does once its lease lapsed. */
async function dropNodeFields(nodeId: string): Promise<void> {
  const keys = await admin.keys(redisKeys.ipConnections('*'));
  await Promise.all(keys.map((key) => admin.hdel(key, nodeId, `${nodeId}#exp`)));
}

connectionLimiterContract('redis', async () => {
  await admin.flushall();
  const opened: { limiter: ConnectionLimiter; redis: Redis }[] = [];
  return {
    limiter(options) {
      const redis = new Redis(testRedis.url, { maxRetriesPerRequest: 1 });
      try {
        const limiter = new RedisConnectionLimiter(redis, options);
        opened.push({ limiter, redis });
        return limiter;
      } catch (err) {
        redis.disconnect();
        throw err;
      }
    },
    expireLeases: dropNodeFields,
    close: async () => {
      await Promise.all(opened.map(({ limiter }) => limiter.close()));
      await Promise.all(opened.map(({ redis }) => redis.quit()));
    },
  };
});

connectionLimiterContract('memory', async () => {
  const state = new MemoryLimiterState();
  const opened: ConnectionLimiter[] = [];
  return {
    limiter(options) {
      const limiter = new MemoryConnectionLimiter(state, options);
      opened.push(limiter);
      return limiter;
    },
    expireLeases: async (nodeId) => state.expireNode(nodeId),
    close: async () => {
      await Promise.all(opened.map((limiter) => limiter.close()));
    },
  };
});

describe('RedisConnectionLimiter data', () => {
  it('keeps one hash per IP with a TTL no longer than the lease, and deletes it when the last slot goes', async () => {
    await admin.flushall();
    const redis = testRedis.client();
    const a = new RedisConnectionLimiter(redis, { nodeId: 'gw-a', maxPerIp: 3, leaseMs: 5_000 });
    const b = new RedisConnectionLimiter(redis, { nodeId: 'gw-b', maxPerIp: 3, leaseMs: 5_000 });
    const ip = '::ffff:192.0.2.1';
    const key = redisKeys.ipConnections(ip);
    await a.acquire(ip);
    await a.acquire(ip);
    await b.acquire(ip);

    const fields = await admin.hgetall(key);
    expect(Object.keys(fields).sort()).toEqual(['gw-a', 'gw-a#exp', 'gw-b', 'gw-b#exp']);
    expect(fields['gw-a']).toBe('2');
    expect(fields['gw-b']).toBe('1');
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);

    await a.releaseAll();
    expect(await admin.hgetall(key)).toEqual({ 'gw-b': '1', 'gw-b#exp': fields['gw-b#exp'] });
    await b.release(ip);
    expect(await admin.exists(key)).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });

  it('leaves nothing behind for a node that died: the key expires with the lease', async () => {
    await admin.flushall();
    const redis = testRedis.client();
    const dead = new RedisConnectionLimiter(redis, { nodeId: 'gw-dead', maxPerIp: 3, leaseMs: 300 });
    await dead.acquire('198.51.100.9');
    await dead.close();
    expect(await admin.exists(redisKeys.ipConnections('198.51.100.9'))).toBe(1);
    const start = performance.now();
    while ((await admin.exists(redisKeys.ipConnections('198.51.100.9'))) === 1) {
      expect(performance.now() - start).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it('heals a slot Redis kept after a failed release at the next renewal', async () => {
    await admin.flushall();
    const redis = new Redis(testRedis.url, { maxRetriesPerRequest: 1 });
    const errors: Error[] = [];
    const a = new RedisConnectionLimiter(redis, {
      nodeId: 'gw-a',
      maxPerIp: 5,
      leaseMs: 300,
      onRenewError: (err) => errors.push(err),
    });
    const ip = '192.0.2.50';
    await a.acquire(ip);
    await a.acquire(ip);
    // Simulate drift: Redis believes the node holds one slot more than it does.
    await admin.hincrby(redisKeys.ipConnections(ip), 'gw-a', 1);
    const start = performance.now();
    while ((await admin.hget(redisKeys.ipConnections(ip), 'gw-a')) !== '2') {
      expect(performance.now() - start).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(errors).toEqual([]);
    await a.close();
    await redis.quit();
  });
});
