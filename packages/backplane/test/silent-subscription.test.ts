import { readRedisTarget } from '@hydra/config';
import { startRedis, startRedisCluster, type TestRedis, type TestRedisCluster } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_RETENTION,
  openRedisClient,
  type RedisClient,
  RedisEventBus,
  redisChannels,
  redisKeys,
} from '../src/index.js';
import { Recorder, waitFor } from './event-bus.contract.js';

/**
 * A subscription that is silent while its scope moves on (the subscriber
 * believes it is subscribed, Redis no longer sends: ioredis#1759,
 * centrifugo#1189) is detected by comparing delivered seqs with Redis',
 * renewed, and announced with onSubscribed (the gateway then re-primes).
 * Made silent here by unsubscribing the bus' own subscriber connection behind
 * its back.
 */
let redis: TestRedis;
let cluster: TestRedisCluster;

beforeAll(async () => {
  process.env.HYDRA_TEST_REDIS ??= 'local';
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
}, 90_000);

afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

describe.each([
  ['one Redis', () => readRedisTarget({ HYDRA_REDIS_URL: redis.url })!],
  ['Cluster (sharded)', () => readRedisTarget(cluster.env)!],
])('a silent subscription on %s', (mode, target) => {
  it('is caught within two checks, renewed and announced; events flow again', async () => {
    const clients: RedisClient[] = [openRedisClient(target()), openRedisClient(target())];
    const [command, subscriber] = clients as [RedisClient, RedisClient];
    const bus = new RedisEventBus({
      redis: command,
      subscriber,
      retention: DEFAULT_RETENTION,
      subscriptionCheckMs: 200,
    });
    const recorder = new Recorder();
    const subscription = await bus.subscribe(recorder);
    try {
      const [first] = await bus.publish([{ scope: 'signals', data: { n: 1 } }]);
      await waitFor(() => recorder.seqs('signals').includes(first!.seq), 5_000, 'the first event');
      const channel = redisChannels.scopeEvents('signals');
      if (mode === 'one Redis') await subscriber.unsubscribe(channel);
      else await subscriber.sunsubscribe(channel);
      const [missed] = await bus.publish([{ scope: 'signals', data: { n: 2 } }]);
      await waitFor(() => bus.stats.silentResubscribes === 1, 5_000, 'the silent subscription detected');
      await waitFor(() => recorder.subscribed === 2, 5_000, 'onSubscribed after the renewal');
      expect(recorder.lifecycle).toEqual(['subscribed', 'interrupted', 'subscribed']); // the renewal may have missed events
      expect(recorder.seqs('signals')).not.toContain(missed!.seq); // lost to pub/sub: the gateway reads it from history
      const [after] = await bus.publish([{ scope: 'signals', data: { n: 3 } }]);
      await waitFor(() => recorder.seqs('signals').includes(after!.seq), 5_000, 'events after the renewal');
      expect(bus.stats.silentResubscribes).toBe(1);
    } finally {
      await subscription.close();
      for (const c of clients) c.disconnect();
    }
  }, 30_000);
});

describe('a Cluster shard whose sharded subscriber connection is killed', () => {
  it('is told as interrupted at once, then re-subscribed and announced (onSubscribed) without waiting for the watchdog', async () => {
    const target = readRedisTarget(cluster.env)!;
    const clients: RedisClient[] = [openRedisClient(target), openRedisClient(target)];
    const [command, subscriber] = clients as [RedisClient, RedisClient];
    // No watchdog: what heals it here is the bus following ioredis' own re-subscription.
    const bus = new RedisEventBus({ redis: command, subscriber, retention: DEFAULT_RETENTION, subscriptionCheckMs: 0 });
    const recorder = new Recorder();
    const subscription = await bus.subscribe(recorder);
    try {
      const [first] = await bus.publish([{ scope: 'signals', data: { n: 1 } }]);
      await waitFor(() => recorder.seqs('signals').includes(first!.seq), 5_000, 'the first event');
      const master = cluster.nodeClient(await cluster.masterOf(redisKeys.scopeSeq('signals')));
      const killed = await master.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      expect(Number(killed)).toBeGreaterThan(0);
      await waitFor(() => recorder.subscribed === 2, 10_000, 'onSubscribed after ioredis re-subscribed the shard');
      expect(recorder.lifecycle.slice(0, 2)).toEqual(['subscribed', 'interrupted']);
      expect(recorder.lifecycle.at(-1)).toBe('subscribed');
      const [after] = await bus.publish([{ scope: 'signals', data: { n: 2 } }]);
      await waitFor(() => recorder.seqs('signals').includes(after!.seq), 5_000, 'events after the re-subscription');
      expect(bus.stats.silentResubscribes).toBe(0);
    } finally {
      await subscription.close();
      for (const c of clients) c.disconnect();
    }
  }, 30_000);
});
