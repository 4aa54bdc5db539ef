import { readRedisTarget } from '@hydra/config';
import { SCOPES } from '@hydra/protocol';
import { startRedisCluster, type TestRedisCluster } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION, RedisBackplane, ReplicaAckError, redisChannels, redisKeys } from '../src/index.js';
import { topologyBackplaneFactory } from './backplane-fixture.js';
import { entityLifecycleContract } from './entity-lifecycle.contract.js';
import { eventBusContract, Recorder, waitFor } from './event-bus.contract.js';
import { historyContract } from './history.contract.js';

/**
 * The backplane on a Redis Cluster (3 masters, 1 replica each, from the local
 * redis-server): the EventBus contract as on one Redis (every script stays in
 * its scope's slot, events ride sharded pub/sub), the key store and limiter
 * across slots, and a master SIGKILLed.
 */
let cluster: TestRedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

const target = () => readRedisTarget(cluster.env)!;

async function flushAll(): Promise<void> {
  for (const port of await cluster.masterPorts()) await cluster.nodeClient(port).flushall();
}

eventBusContract('redis cluster', async (retention, options) => {
  await flushAll();
  const backplane = new RedisBackplane({ target: target(), retention, ...options });
  return { bus: backplane.bus, snapshots: backplane.snapshots, keys: backplane.keys, close: () => backplane.close() };
});

historyContract('redis cluster', topologyBackplaneFactory(target, flushAll));
entityLifecycleContract('redis cluster', topologyBackplaneFactory(target, flushAll));

describe('RedisBackplane on Cluster: minReplicas (WAIT per master)', () => {
  it('waits on every master a batch wrote to', async () => {
    const backplane = new RedisBackplane({ target: target(), retention: DEFAULT_RETENTION, minReplicas: 1 });
    const strict = new RedisBackplane({
      target: target(),
      retention: DEFAULT_RETENTION,
      minReplicas: 2,
      replicaTimeoutMs: 100,
    });
    try {
      // Before any master is killed (the last test): a promoted replica has no replica of its own.
      // A batch over every scope spans several masters: each one's WAIT must see its replica.
      const published = await backplane.bus.publish(
        SCOPES.map((scope) => ({ scope, data: { id: `${scope}-w`, n: 1 } })),
      );
      expect(published.every((p) => p.seq > 0)).toBe(true);
      await expect(strict.bus.publish([{ scope: 'signals', data: { n: 1 } }])).rejects.toBeInstanceOf(ReplicaAckError);
    } finally {
      await Promise.all([backplane.close(), strict.close()]);
    }
  }, 30_000);
});

describe('RedisBackplane on Cluster', () => {
  it('spreads the scopes over the masters and publishes each on its own shard (SPUBLISH, not PUBLISH)', async () => {
    const masters = new Set(await Promise.all(SCOPES.map((s) => cluster.masterOf(redisKeys.scopeSeq(s)))));
    expect(masters.size).toBeGreaterThan(1);
    for (const scope of SCOPES) {
      // Channel and keys share the scope's tag: one slot, so SPUBLISH is legal inside the script.
      expect(await cluster.masterOf(redisChannels.scopeEvents(scope))).toBe(
        await cluster.masterOf(redisKeys.scopeSeq(scope)),
      );
    }
    await flushAll();
    const backplane = new RedisBackplane({ target: target(), retention: DEFAULT_RETENTION });
    const probe = cluster.nodeClient(cluster.ports[0]!);
    const plainChannelMessages: string[] = [];
    await probe.psubscribe('hydra:*');
    probe.on('pmessage', (_pattern: string, channel: string) => plainChannelMessages.push(channel));
    const recorder = new Recorder();
    const subscription = await backplane.bus.subscribe(recorder);
    try {
      const published = await backplane.bus.publish(
        SCOPES.map((scope) => ({ scope, data: { id: `${scope}-1`, n: 1 } })),
      );
      expect(published.map((p) => p.seq)).toEqual(SCOPES.map(() => 1));
      await waitFor(() => recorder.events.length === SCOPES.length, 5_000, 'one event per scope');
      const created = await backplane.keys.create({ scopes: [...SCOPES], name: 'cluster' });
      expect((await backplane.keys.list()).map((r) => r.id)).toEqual([created.record.id]);
      await backplane.keys.revoke(created.record.id);
      await waitFor(() => recorder.revoked.length === 1, 5_000, 'the revocation notice');
      // Scope events never went over plain (cluster-wide) pub/sub; the control notice did.
      expect(plainChannelMessages).toEqual([redisChannels.control()]);
      // Per-IP limiter keys sit in different slots: acquire, and the pipelined renewal, work across them.
      const limiter = backplane.createLimiter({ nodeId: 'n1', maxPerIp: 2, leaseMs: 900 });
      const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
      for (const ip of ips) expect((await limiter.acquire(ip)).granted).toBe(true);
      const leaseOf = async (ip: string) => {
        const key = redisKeys.ipConnections(ip);
        return Number(await cluster.nodeClient(await cluster.masterOf(key)).hget(key, 'n1#exp'));
      };
      const first = await Promise.all(ips.map(leaseOf));
      await waitFor(
        async () => (await Promise.all(ips.map(leaseOf))).every((exp, i) => exp > first[i]!),
        5_000,
        'renewals',
      );
      await limiter.releaseAll();
      await limiter.close();
    } finally {
      await probe.quit();
      await subscription.close();
      await backplane.close();
    }
  }, 30_000);

  it('a master SIGKILLed: its replica takes over, publishes to its scopes succeed again', async () => {
    const backplane = new RedisBackplane({ target: target(), retention: DEFAULT_RETENTION });
    try {
      await backplane.bus.publish([{ scope: 'signals', data: { n: 1 } }]);
      const master = await cluster.masterOf(redisKeys.scopeSeq('signals'));
      const { recoveredMs } = await cluster.killNode(master);
      const killedAt = performance.now();
      await waitFor(
        async () => (await backplane.bus.publish([{ scope: 'signals', data: { n: 2 } }]).catch(() => null)) !== null,
        20_000,
        'a publish accepted by the promoted replica',
      );
      console.info(
        `cluster failover: slots served again ${recoveredMs} ms after SIGKILL; publish accepted ${Math.round(performance.now() - killedAt)} ms later`,
      );
    } finally {
      await backplane.close();
    }
  }, 60_000);
});
