import { SCOPES } from '@hydra/protocol';
import { type GatewayProcess, ScopeTracker, type StreamClient, StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, pollUntil, readyStatus, startPublisherProcess, useLocalRedis } from './fault-helpers.js';

useLocalRedis();

const RECOVERY_BOUND_MS = 6000;

/**
 * Redis faults that keep its data: a graceful restart with persistence, and
 * pauses (CLIENT PAUSE, DEBUG SLEEP). The stream continues exactly: no client
 * is dropped, none sees a gap or a duplicate, and none is resynchronised
 * needlessly (nothing was missed: the scope's seq did not move while the
 * gateway was unsubscribed).
 */
describe('Redis restarted with its data, and paused', () => {
  let f: StreamFixture;
  let gateways: GatewayProcess[];
  let clients: StreamClient[];
  let key: string;

  beforeAll(async () => {
    f = await StreamFixture.start({ persist: true, redisArgs: ['--enable-debug-command', 'yes'] });
    gateways = [await f.gateway(), await f.gateway()];
    key = (await f.key([...SCOPES])).key;
    for (const scope of SCOPES) {
      await f.publish(scope, scope === 'aircraft' || scope === 'vessels' ? { id: `${scope}-0` } : { n: 0 });
    }
    clients = [];
    for (let i = 0; i < 6; i++) {
      const c = f.client(withKey((gateways[i % 2] as GatewayProcess).url, key), { localAddress: `127.0.74.${i + 1}` });
      await c.waitFor((m) => m.type === 'snapshot', SCOPES.length);
      clients.push(c);
    }
  });
  afterAll(async () => {
    await f?.stop();
  });

  /** Publishes one event per scope; resolves with the seq of each. */
  const publishRound = async (tag: string) => {
    const out = new Map<string, number>();
    for (const scope of SCOPES) {
      out.set(
        scope,
        await f.publish(scope, scope === 'aircraft' || scope === 'vessels' ? { id: `${scope}-${tag}` } : { tag }),
      );
    }
    return out;
  };

  /** Every client gets `seqs`; every client's whole view has no gap, no duplicate, no resync; none closed. */
  const expectExactViews = async (seqs: Map<string, number>) => {
    for (const c of clients) {
      for (const [scope, seq] of seqs) await c.waitFor((m) => m.type === scope && m.seq === seq, 1, RECOVERY_BOUND_MS);
      const tracker = new ScopeTracker();
      for (const m of c.messages) tracker.apply(m);
      expect(tracker.problems).toEqual([]);
      expect(tracker.resyncs).toEqual([]);
      expect(c.closeCode).toBeNull();
    }
  };

  it('graceful restart with persistence: ingest 503 while down, events after arrive, no gap, no duplicate, no resync', async () => {
    const publisher = await startPublisherProcess({ HYDRA_REDIS_URL: f.redis.url });
    try {
      await expectExactViews(await publishRound('before'));
      await f.redis.kill('SIGTERM'); // writes the AOF: the data survives
      for (const gw of gateways) await pollUntil(async () => (await readyStatus(gw)) === 503, 5000, 'not ready');
      expect(await ingest(publisher.ingestUrl, [{ scope: 'signals', data: { lost: true } }])).toBe(503);
      await f.redis.restart();
      for (const gw of gateways) {
        await pollUntil(async () => (await readyStatus(gw)) === 200, RECOVERY_BOUND_MS, 'ready again');
        await gw.waitForLog((l) => l.msg === 're-priming scopes', RECOVERY_BOUND_MS);
      }
      await pollUntil(
        async () => (await ingest(publisher.ingestUrl, [{ scope: 'signals', data: { after: true } }])) === 200,
        RECOVERY_BOUND_MS,
        'ingest 200',
      );
      await expectExactViews(await publishRound('after-restart'));
      for (const c of clients) {
        expect(c.messages.some((m) => (m.data as { lost?: boolean } | undefined)?.lost === true)).toBe(false);
      }
    } finally {
      await publisher.stop();
    }
  }, 40_000);

  it('subscriptions cut (CLIENT KILL TYPE pubsub) while events flow: the gap is filled from history, no resync', async () => {
    const admin = f.redis.client();
    const before = await publishRound('before-cut');
    await expectExactViews(before);
    const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
    expect(killed).toBeGreaterThanOrEqual(gateways.length);
    // Published while the gateways' subscriber connections reconnect: missed by pub/sub, kept in history.
    const missed = await publishRound('while-cut');
    for (const gw of gateways) {
      await gw.waitForLog((l) => l.msg === 'subscription gap filled from history', RECOVERY_BOUND_MS);
    }
    await expectExactViews(missed);
    await expectExactViews(await publishRound('after-cut'));
  }, 30_000);

  it('CLIENT PAUSE 2000 ALL: no client dropped, events published during and after the pause arrive', async () => {
    const admin = f.redis.client();
    await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
    const pausedAt = performance.now();
    const during = await publishRound('during-pause'); // blocks until the pause ends
    expect(performance.now() - pausedAt).toBeGreaterThan(1500);
    await expectExactViews(during);
    await expectExactViews(await publishRound('after-pause'));
  }, 30_000);

  it('DEBUG SLEEP 2: no client dropped, no gap', async () => {
    const admin = f.redis.client();
    const sleeping = admin.call('DEBUG', 'SLEEP', '2');
    const round = publishRound('during-sleep');
    await sleeping;
    await expectExactViews(await round);
    await expectExactViews(await publishRound('after-sleep'));
    for (const gw of gateways) expect(await readyStatus(gw)).toBe(200);
  }, 30_000);
});
