import { type Backplane, createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import { readRedisTarget } from '@hydra/config';
import { SCOPES, type Scope } from '@hydra/protocol';
import {
  type GatewayProcess,
  ScopeTracker,
  StreamClient,
  startGatewayProcess,
  startRedisSentinel,
  type TestRedisSentinel,
} from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type PublisherProcess, pollUntil, readyStatus, startPublisherProcess } from './fault-helpers.js';
import { withKey } from './fixture.js';

const RECOVERY_BOUND_MS = 20_000;

/**
 * Gateways and a publisher on Sentinel (HYDRA_REDIS_SENTINELS): the primary
 * is SIGKILLed while events flow. Sentinel promotes a replica; every process
 * follows it by itself; ingest answers 200 again; every client ends with a
 * view without gap or duplicate (an event the replica never had shows as a
 * `resync` of its scope, never as a silent hole) and receives what is
 * published after the failover.
 */
describe('Sentinel failover under a live stream', () => {
  let sentinel: TestRedisSentinel;
  let backplane: Backplane;
  let gateways: GatewayProcess[] = [];
  let publisher: PublisherProcess | undefined;
  const clients: StreamClient[] = [];

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    backplane = createBackplane({
      kind: 'redis',
      target: readRedisTarget(sentinel.env)!,
      retention: DEFAULT_RETENTION,
    });
    gateways = [
      await startGatewayProcess({ ...sentinel.env, HYDRA_DRAIN_MS: '200' }),
      await startGatewayProcess({ ...sentinel.env, HYDRA_DRAIN_MS: '200' }),
    ];
    publisher = await startPublisherProcess({ ...sentinel.env });
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.terminate();
    await publisher?.stop();
    await Promise.all(gateways.map((g) => g.stop()));
    await backplane?.close();
    await sentinel?.stop();
  });

  const eventFor = (scope: Scope, tag: string) => ({
    scope,
    data: scope === 'aircraft' || scope === 'vessels' ? { id: `${scope}-${tag}` } : { tag },
  });

  it('SIGKILL of the primary: promoted, ingest 200 again, clients without gap or duplicate get the events after', async () => {
    const { key } = await backplane.keys.create({ scopes: [...SCOPES], name: 'sentinel-test' });
    for (let i = 0; i < 4; i++) {
      const c = new StreamClient(withKey(gateways[i % 2]!.url, key), { localAddress: `127.0.75.${i + 1}` });
      clients.push(c);
      await c.waitFor((m) => m.type === 'snapshot', SCOPES.length);
    }
    const url = publisher!.ingestUrl;
    expect(
      await ingest(
        url,
        SCOPES.map((s) => eventFor(s, 'before')),
      ),
    ).toBe(200);

    // A steady stream through the publisher while the primary dies.
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

    const { failoverMs } = await sentinel.killPrimary();
    const promotedAt = performance.now();
    const acceptedAtPromotion = accepted;
    await pollUntil(() => accepted > acceptedAtPromotion + 5, RECOVERY_BOUND_MS, 'ingest 200 after the failover');
    const ingestBackMs = Math.round(performance.now() - promotedAt);
    for (const gw of gateways) await pollUntil(async () => (await readyStatus(gw)) === 200, RECOVERY_BOUND_MS, 'ready');
    running = false;
    await stream;

    // A final round with known seqs: every client must reach them, with a clean view.
    const final = new Map<Scope, number>();
    for (const scope of SCOPES) {
      const [published] = await backplane.bus.publish([eventFor(scope, 'final')]);
      final.set(scope, published!.seq);
    }
    for (const c of clients) {
      for (const [scope, seq] of final) await c.waitFor((m) => m.type === scope && m.seq === seq, 1, RECOVERY_BOUND_MS);
      const tracker = new ScopeTracker();
      for (const m of c.messages) tracker.apply(m);
      expect(tracker.problems).toEqual([]);
      expect(c.closeCode).toBeNull();
    }
    const deliveredBackMs = Math.round(performance.now() - promotedAt);
    const resyncs = clients.reduce((sum, c) => sum + c.messages.filter((m) => m.type === 'resync').length, 0);
    console.info(
      `sentinel failover under load: promoted ${failoverMs} ms after SIGKILL; ingest 200 again ${ingestBackMs} ms after promotion; ` +
        `final round delivered to all clients ${deliveredBackMs} ms after promotion; batches accepted ${accepted}, refused ${refused}; resyncs ${resyncs}`,
    );
  }, 120_000);
});
