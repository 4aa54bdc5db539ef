import { type Backplane, createBackplane, DEFAULT_RETENTION, redisKeys } from '@hydra/backplane';
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
import { ingest, type PublisherProcess, pollUntil, readyStatus, startPublisherProcess } from './fault-helpers.js';

const RECOVERY_BOUND_MS = 20_000;

/**
 * Gateways and a publisher on a Redis Cluster (HYDRA_REDIS_CLUSTER_NODES, 3
 * masters with a replica each): scopes spread over the masters, events ride
 * sharded pub/sub. Every subscriber connection is cut (CLIENT KILL TYPE
 * pubsub on every master), then a master is SIGKILLed while events flow: the
 * gateways heal by themselves and every client ends with a view without gap
 * or duplicate (or a resync of the scope) that includes what came after.
 */
describe('Cluster: gateways on sharded pub/sub', () => {
  let cluster: TestRedisCluster;
  let backplane: Backplane;
  let gateways: GatewayProcess[] = [];
  let publisher: PublisherProcess | undefined;
  const clients: StreamClient[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    backplane = createBackplane({ kind: 'redis', target: readRedisTarget(cluster.env)!, retention: DEFAULT_RETENTION });
    gateways = [
      await startGatewayProcess({ ...cluster.env, HYDRA_DRAIN_MS: '200' }),
      await startGatewayProcess({ ...cluster.env, HYDRA_DRAIN_MS: '200' }),
    ];
    publisher = await startPublisherProcess({ ...cluster.env });
    const { key } = await backplane.keys.create({ scopes: [...SCOPES], name: 'cluster-test' });
    for (let i = 0; i < 4; i++) {
      const c = new StreamClient(withKey(gateways[i % 2]!.url, key), { localAddress: `127.0.76.${i + 1}` });
      clients.push(c);
      await c.waitFor((m) => m.type === 'snapshot', SCOPES.length);
    }
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.terminate();
    await publisher?.stop();
    await Promise.all(gateways.map((g) => g.stop()));
    await backplane?.close();
    await cluster?.stop();
  });

  const eventFor = (scope: Scope, tag: string) => ({
    scope,
    data: scope === 'aircraft' || scope === 'vessels' ? { id: `${scope}-${tag}` } : { tag },
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
      for (const [scope, seq] of seqs) await c.waitFor((m) => m.type === scope && m.seq === seq, 1, RECOVERY_BOUND_MS);
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

  it('a master SIGKILLed under a live stream: ingest 200 again, clients clean and current', async () => {
    const url = publisher!.ingestUrl;
    let running = true;
    let accepted = 0;
    let refused = 0;
    let n = 0;
    const stream = (async () => {
      while (running) {
        const status = await ingest(
          url,
          SCOPES.map((s) => eventFor(s, `flow-${n++}`)),
        ).catch(() => 0);
        if (status === 200) accepted++;
        else refused++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await pollUntil(() => accepted > 20, 10_000, 'the stream flowing');
    const victim = await cluster.masterOf(redisKeys.scopeSeq('aircraft'));
    const { recoveredMs } = await cluster.killNode(victim);
    const recoveredAt = performance.now();
    const acceptedThen = accepted;
    await pollUntil(() => accepted > acceptedThen + 5, RECOVERY_BOUND_MS, 'ingest 200 after the failover');
    const ingestBackMs = Math.round(performance.now() - recoveredAt);
    for (const gw of gateways) await pollUntil(async () => (await readyStatus(gw)) === 200, RECOVERY_BOUND_MS, 'ready');
    running = false;
    await stream;
    const resyncs = await expectCleanViews(await publishRound('final'));
    console.info(
      `cluster failover under load: slots served again ${recoveredMs} ms after SIGKILL; ingest 200 again ${ingestBackMs} ms after that; ` +
        `final round delivered ${Math.round(performance.now() - recoveredAt)} ms after; batches accepted ${accepted}, refused ${refused}; resyncs ${resyncs}`,
    );
  }, 90_000);
});
