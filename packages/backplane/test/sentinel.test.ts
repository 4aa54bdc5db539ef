import { readRedisTarget } from '@hydra/config';
import { startRedisSentinel, type TestRedisSentinel } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION, RedisBackplane, ReplicaAckError } from '../src/index.js';
import { topologyBackplaneFactory } from './backplane-fixture.js';
import { entityLifecycleContract } from './entity-lifecycle.contract.js';
import { eventBusContract, Recorder, waitFor } from './event-bus.contract.js';
import { historyContract } from './history.contract.js';

/**
 * The backplane on a Sentinel-managed Redis (a primary, two replicas, three
 * sentinels from the local redis-server): the EventBus contract as on one
 * Redis, then a SIGKILLed primary: commands and the subscription follow the
 * promoted replica by themselves.
 */
let sentinel: TestRedisSentinel;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
}, 60_000);

afterAll(async () => {
  await sentinel?.stop();
});

const target = () => readRedisTarget(sentinel.env)!;

async function flushPrimary(): Promise<void> {
  await (await sentinel.primaryClient()).flushall();
}

eventBusContract('redis sentinel', async (retention, options) => {
  const primary = await sentinel.primaryClient();
  await primary.flushall();
  const backplane = new RedisBackplane({ target: target(), retention, ...options });
  return { bus: backplane.bus, snapshots: backplane.snapshots, keys: backplane.keys, close: () => backplane.close() };
});

historyContract('redis sentinel', topologyBackplaneFactory(target, flushPrimary));
entityLifecycleContract('redis sentinel', topologyBackplaneFactory(target, flushPrimary));

describe('RedisBackplane on Sentinel: a primary SIGKILLed', () => {
  it('publishes to the promoted replica and resubscribes (onSubscribed again), with no manual step', async () => {
    const backplane = new RedisBackplane({ target: target(), retention: DEFAULT_RETENTION });
    const recorder = new Recorder();
    const subscription = await backplane.bus.subscribe(recorder);
    try {
      await backplane.bus.publish([{ scope: 'signals', data: { n: 1 } }]);
      await waitFor(() => recorder.seqs('signals').length === 1, 5_000, 'the first event');
      const { oldPort, newPort, failoverMs } = await sentinel.killPrimary();
      expect(newPort).not.toBe(oldPort);
      const killedAt = performance.now();
      // Until the client has followed the failover, publish rejects (fast: maxRetriesPerRequest 1); then it succeeds.
      let published: Awaited<ReturnType<typeof backplane.bus.publish>> | undefined;
      await waitFor(
        async () => {
          published = await backplane.bus.publish([{ scope: 'signals', data: { n: 2 } }]).catch(() => undefined);
          return published !== undefined;
        },
        20_000,
        'a publish accepted by the new primary',
      );
      const writesMs = Math.round(performance.now() - killedAt);
      await waitFor(() => recorder.subscribed >= 2, 20_000, 'onSubscribed after the failover');
      // Told first that the old subscription ended: what follows may be the promoted replica's other sequence.
      expect(recorder.lifecycle.slice(0, 2)).toEqual(['subscribed', 'interrupted']);
      // Pub/sub is at-most-once: an event published while the subscriber reconnects (the failover
      // detector may drop it once more at +switch-master) is gone from pub/sub, which is why the bus
      // calls onSubscribed (the gateway then reads history). Once resubscribed, events arrive again.
      let delivered = false;
      const deadline = performance.now() + 20_000;
      let seq = published![0]!.seq;
      while (!delivered && performance.now() < deadline) {
        delivered = await waitFor(() => recorder.seqs('signals').includes(seq), 1_000, 'delivery').then(
          () => true,
          () => false,
        );
        if (!delivered) seq = (await backplane.bus.publish([{ scope: 'signals', data: { n: 3 } }]))[0]!.seq;
      }
      expect(delivered).toBe(true);
      // Healthy again by itself. Not asserted at the instant of delivery: ioredis's failover detector may cut the
      // connections once more at +switch-master, after they already followed the new primary (CI: delivered, then
      // isHealthy false for that moment). A client left for good in status `end` still fails here.
      await waitFor(() => backplane.isHealthy(), 10_000, 'healthy after the failover');
      console.info(`sentinel failover: promoted in ${failoverMs} ms, writes back ${writesMs} ms after promotion`);
    } finally {
      await subscription.close();
      await backplane.close();
    }
  }, 60_000);
});

describe('RedisBackplane on Sentinel: minReplicas (WAIT)', () => {
  it('resolves once a replica holds the batch; rejects with ReplicaAckError when fewer replicas than required exist', async () => {
    // The failover test before this one leaves a promoted primary whose surviving replica is still
    // re-syncing (WAIT 1 would rightly time out until it is online), and sentinels that may not all have
    // announced the new primary yet: CI saw a late +switch-master make the failover detector drop this
    // test's connection, aborting its first publish ("Command aborted due to connection close").
    // replicasOnline waits for both.
    await sentinel.replicasOnline(1);
    const one = new RedisBackplane({ target: target(), retention: DEFAULT_RETENTION, minReplicas: 1 });
    const tooMany = new RedisBackplane({
      target: target(),
      retention: DEFAULT_RETENTION,
      minReplicas: 5,
      replicaTimeoutMs: 100,
    });
    try {
      const [published] = await one.bus.publish([{ scope: 'signals', data: { acked: true } }]);
      expect(published!.seq).toBeGreaterThan(0);
      // What the WAIT adds (printed for docs/operations.md): median of 200 single-event publishes each way.
      const median = async (backplane: RedisBackplane) => {
        const times: number[] = [];
        for (let i = 0; i < 200; i++) {
          const started = performance.now();
          await backplane.bus.publish([{ scope: 'signals', data: { i } }]);
          times.push(performance.now() - started);
        }
        return times.sort((x, y) => x - y)[100]!;
      };
      const plain = new RedisBackplane({ target: target(), retention: DEFAULT_RETENTION });
      try {
        const [without, withWait] = [await median(plain), await median(one)];
        console.info(
          `publish median: ${without.toFixed(2)} ms without WAIT, ${withWait.toFixed(2)} ms with minReplicas 1`,
        );
      } finally {
        await plain.close();
      }
      const refused = await tooMany.bus.publish([{ scope: 'signals', data: { acked: false } }]).catch((e) => e);
      expect(refused).toBeInstanceOf(ReplicaAckError);
      expect(refused).toMatchObject({ required: 5 });
      expect((refused as ReplicaAckError).acknowledged).toBeLessThan(5);
    } finally {
      await Promise.all([one.close(), tooMany.close()]);
    }
  }, 60_000); // CI timed out once at 30 s on a quiet box, cause not found (most likely the surviving replica still re-syncing after the failover test above); widened, not explained
});
