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
  withKey,
} from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INGEST_TOKEN,
  ingest,
  type PublisherProcess,
  pollUntil,
  readyStatus,
  startPublisherProcess,
} from './fault-helpers.js';

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
    // Acknowledged means held by a replica too: what got 200 survives the primary's loss.
    publisher = await startPublisherProcess({ ...sentinel.env, HYDRA_INGEST_MIN_REPLICAS: '1' });
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

  /** POSTs a batch; resolves with the status and, on 200, the seq each event got. */
  const post = async (events: ReturnType<typeof eventFor>[]) => {
    const res = await fetch(publisher!.ingestUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    const body = (await res.json().catch(() => ({}))) as { events?: { index: number; seq: number }[] };
    return { status: res.status, seqs: body.events?.map((e) => e.seq) ?? [] };
  };

  it('SIGKILL of the primary (HYDRA_INGEST_MIN_REPLICAS=1): promoted, ingest 200 again, every acknowledged event reaches every client exactly once, in order', async () => {
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

    // A steady stream through the publisher while the primary dies; the log of what was acknowledged.
    let running = true;
    let accepted = 0;
    let refused = 0;
    let n = 0;
    const acknowledged: { scope: Scope; seq: number; tag: string }[] = [];
    const stream = (async () => {
      while (running) {
        const tag = `flow-${n++}`;
        const { status, seqs } = await post(SCOPES.map((s) => eventFor(s, tag))).catch(() => ({ status: 0, seqs: [] }));
        if (status === 200) {
          accepted++;
          SCOPES.forEach((scope, i) => {
            acknowledged.push({ scope, seq: seqs[i]!, tag });
          });
        } else refused++;
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
      expect(tracker.resyncs).toEqual([]);
      expect(c.closeCode).toBeNull();
      // Every acknowledged event, exactly once, under the seq it was acknowledged with.
      for (const { scope, seq, tag } of acknowledged) {
        const got = c.messages.filter((m) => m.type === scope && m.seq === seq);
        expect(got.length, `${scope} ${seq}`).toBe(1);
        const data = got[0]!.data as { id?: string; tag?: string };
        expect(data.id ?? data.tag).toBe(scope === 'aircraft' || scope === 'vessels' ? `${scope}-${tag}` : tag);
      }
    }
    const deliveredBackMs = Math.round(performance.now() - promotedAt);
    const resyncs = clients.reduce((sum, c) => sum + c.messages.filter((m) => m.type === 'resync').length, 0);
    console.info(
      `sentinel failover under load: promoted ${failoverMs} ms after SIGKILL; ingest 200 again ${ingestBackMs} ms after promotion; ` +
        `final round delivered to all clients ${deliveredBackMs} ms after promotion; batches accepted ${accepted}, refused ${refused}; resyncs ${resyncs}`,
    );
  }, 120_000);
});
