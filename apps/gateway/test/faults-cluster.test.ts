import { type Backplane, createBackplane, parseRetention, redisKeys } from '@hydra/backplane';
import { readRedisTarget } from '@hydra/config';
import { SCOPES, type Scope } from '@hydra/protocol';
import {
  type GatewayProcess,
  ScopeTracker,
  StreamClient,
  startGatewayProcess,
  startRedisCluster,
  type TestRedisCluster,
  withKey,
} from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cutReplication,
  describeFailover,
  expectFailoverOutcome,
  failoverUnderLoad,
  replicaPortsOf,
  withGatewayLogsOnFailure,
} from './failover-under-load.js';
import { adminGet, type PublisherProcess, pollUntil, readyStatus, startPublisherProcess } from './fault-helpers.js';

const RECOVERY_BOUND_MS = 20_000;
/**
 * History that keeps every event of the file (the failover tests read the
 * surviving sequence from seq 1) and entities that outlive it (no expiry
 * removal mid-test).
 */
const RETENTION = [...SCOPES.map((s) => `${s}:history=100000`), 'aircraft:ttl=3600000', 'vessels:ttl=3600000'].join(
  ',',
);

/**
 * Gateways and publishers on a Redis Cluster (HYDRA_REDIS_CLUSTER_NODES, 3
 * masters with two replicas each): scopes spread over the masters, events
 * ride sharded pub/sub. Live streaming from every master; every subscriber
 * connection cut (CLIENT KILL TYPE pubsub on every master); a master
 * SIGKILLed under a publisher streaming ≥ 1,000 events/s (one master per
 * case): with HYDRA_INGEST_MIN_REPLICAS=1 nothing acknowledged is lost (every
 * view exact; with the replicas cut off first, ingest refuses instead), with
 * 0 and the replicas cut off the loss shows only as `resync` `stream_reset`
 * of that master's scopes; a gateway started while a shard has no master
 * at all.
 */
describe('Cluster: gateways on sharded pub/sub', () => {
  let cluster: TestRedisCluster;
  let backplane: Backplane;
  let gateways: GatewayProcess[] = [];
  /** HYDRA_INGEST_MIN_REPLICAS=1 and 0. */
  let durable: PublisherProcess | undefined;
  let fast: PublisherProcess | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    // Two replicas per master: after a failover the shard still has one, so WAIT 1 can succeed there.
    cluster = await startRedisCluster({ replicasPerMaster: 2 });
    env = { ...cluster.env, HYDRA_RETENTION: RETENTION };
    backplane = createBackplane({ kind: 'redis', target: readRedisTarget(env)!, retention: parseRetention(RETENTION) });
    gateways = [
      await startGatewayProcess({ ...env, HYDRA_DRAIN_MS: '200' }),
      await startGatewayProcess({ ...env, HYDRA_DRAIN_MS: '200' }),
    ];
    durable = await startPublisherProcess({ ...env, HYDRA_INGEST_MIN_REPLICAS: '1' });
    fast = await startPublisherProcess({ ...env, HYDRA_INGEST_MIN_REPLICAS: '0' });
  }, 90_000);

  afterAll(async () => {
    await durable?.stop();
    await fast?.stop();
    await Promise.all(gateways.map((g) => g.stop()));
    await backplane?.close();
    await cluster?.stop();
  });

  /** The scopes whose master is `port`. */
  const scopesOn = async (port: number) => {
    const held: Scope[] = [];
    for (const scope of SCOPES) if ((await cluster.masterOf(redisKeys.scopeSeq(scope))) === port) held.push(scope);
    return held;
  };

  const eventFor = (scope: Scope, tag: string) => ({
    scope,
    data: scope === 'aircraft' || scope === 'vessels' ? { id: `${scope}-${tag}` } : { tag },
  });

  describe('live', () => {
    const clients: StreamClient[] = [];

    beforeAll(async () => {
      const { key } = await backplane.keys.create({ scopes: [...SCOPES], name: 'cluster-test' });
      for (let i = 0; i < 4; i++) {
        const c = new StreamClient(withKey(gateways[i % 2]!.url, key), { localAddress: `127.0.76.${i + 1}` });
        clients.push(c);
        await c.waitFor((m) => m.type === 'snapshot', SCOPES.length);
      }
    }, 60_000);

    afterAll(() => {
      for (const c of clients) c.terminate();
    });

    /** Publishes one event per scope (the test's own backplane); resolves with each seq. */
    const publishRound = async (tag: string) => {
      const seqs = new Map<Scope, number>();
      for (const scope of SCOPES) seqs.set(scope, (await backplane.bus.publish([eventFor(scope, tag)]))[0]!.seq);
      return seqs;
    };

    /** Every client reaches `seqs`; its whole view has no gap and no duplicate (resyncs are reported). */
    const expectCleanViews = async (seqs: Map<Scope, number>) => {
      let resyncs = 0;
      for (const c of clients) {
        for (const [scope, seq] of seqs)
          await c.waitFor((m) => m.type === scope && m.seq === seq, 1, RECOVERY_BOUND_MS);
        const tracker = new ScopeTracker();
        for (const m of c.messages) tracker.apply(m);
        expect(tracker.problems).toEqual([]);
        expect(c.closeCode).toBeNull();
        resyncs += tracker.resyncs.length;
      }
      return resyncs;
    };

    it('streams every scope live from the master holding it; the start-up log names that master', async () => {
      const masters = new Set(await Promise.all(SCOPES.map((s) => cluster.masterOf(redisKeys.scopeSeq(s)))));
      expect(masters.size).toBeGreaterThan(1);
      const { placement } = (await gateways[0]!.waitForLog((l) => l.msg === 'scope placement')) as unknown as {
        placement: Record<Scope, string>;
      };
      for (const scope of SCOPES) {
        expect(placement[scope]).toBe(`127.0.0.1:${await cluster.masterOf(redisKeys.scopeSeq(scope))}`);
      }
      expect(await expectCleanViews(await publishRound('live'))).toBe(0);
    }, 30_000);

    it('every subscriber connection cut (CLIENT KILL TYPE pubsub on each master): events published meanwhile still arrive', async () => {
      await expectCleanViews(await publishRound('before-cut'));
      let killed = 0;
      for (const port of await cluster.masterPorts()) {
        killed += Number(await cluster.nodeClient(port).call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
      }
      expect(killed).toBeGreaterThanOrEqual(gateways.length);
      // No event follows these on their scope: only a gateway that notices by itself can deliver them.
      await expectCleanViews(await publishRound('while-cut'));
    }, 40_000);
  });

  /** A failover of the master of `scope`'s shard under load (failover-under-load.ts), asserted and printed. */
  const failoverOf = async (
    scope: Scope,
    {
      minReplicas,
      lagging,
      clientAddressPrefix,
    }: { minReplicas: number; lagging: boolean; clientAddressPrefix: string },
  ) => {
    const { key } = await backplane.keys.create({ scopes: [...SCOPES], name: `cluster-failover-${scope}` });
    const victim = await cluster.masterOf(redisKeys.scopeSeq(scope));
    const affected = await scopesOn(victim);
    const report = await failoverUnderLoad({
      gateways,
      apiKey: key,
      ingestUrl: (minReplicas > 0 ? durable : fast)!.ingestUrl,
      backplane,
      retention: parseRetention(RETENTION),
      clientAddressPrefix,
      lagReplicas: lagging
        ? async () => {
            const master = cluster.nodeClient(victim);
            return cutReplication(
              master,
              (await replicaPortsOf(master)).map((port) => cluster.nodeClient(port)),
            );
          }
        : undefined,
      kill: async () => (await cluster.killNode(victim)).recoveredMs,
    });
    const label = `cluster failover of ${affected.join('+')}'s master, HYDRA_INGEST_MIN_REPLICAS=${minReplicas}${lagging ? ', replicas cut off' : ''}`;
    console.log(describeFailover(label, report));
    // The other masters' scopes must stay exact: the victim holds some scopes, not all.
    expect(affected.length).toBeLessThan(SCOPES.length);
    withGatewayLogsOnFailure(gateways, () => expectFailoverOutcome(report, { minReplicas, lagging, affected }));
  };

  // Each case fails over another master: after its failover a shard keeps one replica (WAIT 1 still succeeds).
  it('a master SIGKILLed under ≥ 1,000 events/s, HYDRA_INGEST_MIN_REPLICAS=1: every acknowledged event reaches every client exactly once, in order', async () => {
    await failoverOf('aircraft', { minReplicas: 1, lagging: false, clientAddressPrefix: '127.0.77.' });
  }, 90_000);

  // Quarantined once (CI, 1 run in 7: one gateway of two kept events the failover lost, with no resync). The hole
  // that explains it is closed: a subscription that came back on the promoted replica after it had numbered past
  // the gateway's last seq took its first event on its number alone when that was exactly the next seq
  // (SequenceFollower.subscriptionInterrupted now has it proven from history first), and a Cluster shard's
  // re-subscription was not announced (no re-prime until the watchdog's next check). On failure the gateways'
  // logs are printed with the error (withGatewayLogsOnFailure).
  it('a master SIGKILLed with its replicas cut off, HYDRA_INGEST_MIN_REPLICAS=1: nothing acknowledged is lost (503 instead); what clients had of the rest shows as resync stream_reset of its scopes', async () => {
    await failoverOf('alerts', { minReplicas: 1, lagging: true, clientAddressPrefix: '127.0.78.' });
  }, 90_000);

  it('a master SIGKILLed with its replicas cut off, HYDRA_INGEST_MIN_REPLICAS=0: the acknowledged events lost show only as resync stream_reset of its scopes', async () => {
    await failoverOf('signals', { minReplicas: 0, lagging: true, clientAddressPrefix: '127.0.79.' });
  }, 90_000);

  it('a gateway started while a shard has no master is not ready; it becomes ready when the shard is back, and streams its scopes', async () => {
    const victim = await cluster.masterOf(redisKeys.scopeSeq('alerts'));
    const shardScopes = await scopesOn(victim);
    // Replicas first, so that none can take over: the shard's slots are left unserved.
    for (const port of await replicaPortsOf(cluster.nodeClient(victim))) await cluster.stopNode(port);
    await cluster.stopNode(victim);
    const survivor = cluster.nodeClient((await cluster.masterPorts()).find((p) => p !== victim)!);
    await pollUntil(
      async () => String(await survivor.call('CLUSTER', 'INFO')).includes('cluster_state:fail'),
      RECOVERY_BOUND_MS,
      'the cluster failing without the shard',
    );
    // It listens (probes answer: it used to wait for the shard before listening at all), and is not ready.
    const late = await startGatewayProcess({ ...env, HYDRA_DRAIN_MS: '200' });
    gateways.push(late);
    expect((await adminGet(late, '/healthz')).status).toBe(200);
    expect((await adminGet(late, '/readyz')).status).toBe(503);

    const restartedAt = performance.now();
    await cluster.restartNode(victim); // empty: its scopes start again from seq 0
    await late.waitForLog((l) => l.msg === 'ready', RECOVERY_BOUND_MS);
    const readyMs = Math.round(performance.now() - restartedAt);
    expect(await readyStatus(late)).toBe(200);

    const { key } = await backplane.keys.create({ scopes: [...SCOPES], name: 'cluster-late' });
    const client = new StreamClient(withKey(late.url, key), { localAddress: '127.0.80.1' });
    try {
      await client.waitFor((m) => m.type === 'snapshot', SCOPES.length, RECOVERY_BOUND_MS);
      for (const scope of shardScopes) {
        const [published] = await backplane.bus.publish([eventFor(scope, 'after-restart')]);
        await client.waitFor((m) => m.type === scope && m.seq === published!.seq, 1, RECOVERY_BOUND_MS);
      }
      expect(client.closeCode).toBeNull();
    } finally {
      client.terminate();
    }
    console.log(
      `cluster: a gateway started with a shard down (${shardScopes.join(', ')}) ready ${readyMs} ms after the shard's master restarted`,
    );
  }, 60_000);
});
