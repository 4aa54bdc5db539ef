import { type ServiceProcess, StreamFixture, spawnService, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TTL_MS = 1500;
const RETENTION = `aircraft:ttl=${TTL_MS}`;
const TOKEN = 'test-ingest-token';

describe('entity lifecycle with two gateways and two publishers', () => {
  let f: StreamFixture;
  const publishers: ServiceProcess[] = [];
  const ingestUrls: string[] = [];

  beforeAll(async () => {
    f = await StreamFixture.start({ retention: RETENTION });
    for (let i = 0; i < 2; i++) {
      const p = spawnService('apps/publisher/dist/main.js', {
        HYDRA_REDIS_URL: f.redis.url,
        HYDRA_INGEST_TOKEN: TOKEN,
        HYDRA_PUBLISHER_PORT: '0',
        HYDRA_RETENTION: RETENTION,
      });
      publishers.push(p);
      const line = await p.waitForLog((l) => l.msg === 'publisher listening');
      ingestUrls.push(`http://127.0.0.1:${line.port}/v1/events`);
    }
  });
  afterAll(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await f?.stop();
  });

  const ingest = async (url: string, body: unknown) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  };

  it('announces each expired entity exactly once and drops it from the snapshot', async () => {
    const [a, b] = await Promise.all([
      f.gateway({ HYDRA_RETENTION: RETENTION }),
      f.gateway({ HYDRA_RETENTION: RETENTION }),
    ]);
    const k = await f.key(['aircraft']);
    const onA = f.client(withKey(a.url, k.key, '&snapshot=false'));
    const onB = f.client(withKey(b.url, k.key, '&snapshot=false'));
    await Promise.all([onA, onB].map((c) => c.waitFor((m) => m.type === 'connected')));
    const ids = Array.from({ length: 40 }, (_, i) => `ex${i}`);
    await ingest(
      ingestUrls[0] as string,
      ids.slice(0, 20).map((id) => ({ scope: 'aircraft', data: { id, lat: 1, lon: 2 } })),
    );
    await ingest(
      ingestUrls[1] as string,
      ids.slice(20).map((id) => ({ scope: 'aircraft', data: { id, lat: 1, lon: 2 } })),
    );
    // One entity keeps being updated in time: it must never be removed.
    const keeper = setInterval(() => void f.publish('aircraft', { id: 'keeper', lat: 0, lon: 0 }), TTL_MS / 4);
    try {
      const removed = (m: { type: string; data?: unknown }) =>
        m.type === 'aircraft' && (m.data as { removed?: boolean }).removed === true;
      await Promise.all([onA, onB].map((c) => c.waitFor(removed, ids.length, 15_000)));
      // Four sweepers ran all along; give them two more sweep periods to (wrongly) repeat anything.
      const settle = await f.publish('aircraft', { id: 'settle', lat: 0, lon: 0 });
      await Promise.all([onA, onB].map((c) => c.waitFor((m) => m.seq === settle)));
      await new Promise((r) => setTimeout(r, 2500));
      for (const c of [onA, onB]) {
        const removals = c.messages.filter(removed).map((m) => m.data as { id: string; reason: string });
        const ofBatch = removals.filter((r) => ids.includes(r.id));
        expect(ofBatch.map((r) => r.id).sort()).toEqual([...ids].sort());
        expect(new Set(ofBatch.map((r) => r.reason))).toEqual(new Set(['expired']));
        expect(removals.map((r) => r.id)).not.toContain('keeper');
      }
      const snap = await f.backplane.snapshots.read('aircraft');
      const inSnapshot = snap.items.map((i) => (JSON.parse(i) as { id: string }).id);
      expect(inSnapshot.filter((id) => ids.includes(id))).toEqual([]);
      expect(inSnapshot).toContain('keeper');
    } finally {
      clearInterval(keeper);
    }
  });

  it('announces a delete through ingest and removes the entity from new snapshots', async () => {
    const gw = await f.gateway({ HYDRA_RETENTION: RETENTION });
    const k = await f.key(['aircraft']);
    await ingest(ingestUrls[0] as string, { scope: 'aircraft', data: { id: 'doomed', lat: 1, lon: 1 } });
    const c = f.client(withKey(gw.url, k.key));
    await c.waitFor((m) => m.type === 'snapshot');
    await ingest(ingestUrls[1] as string, { scope: 'aircraft', op: 'delete', data: { id: 'doomed' } });
    const [removal] = await c.waitFor((m) => m.type === 'aircraft' && (m.data as { id: string }).id === 'doomed');
    expect(removal?.data).toEqual({ id: 'doomed', removed: true, reason: 'deleted' });
    const late = f.client(withKey(gw.url, k.key));
    const [snap] = await late.waitFor((m) => m.type === 'snapshot');
    expect((snap?.data as { items: { id: string }[] }).items.map((i) => i.id)).not.toContain('doomed');
  });
});
