import type { GatewayProcess } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_TOKEN, type PublisherProcess, startPublisherProcess } from './fault-helpers.js';

/**
 * The whole path of a mixed ingest batch: a real publisher process answers
 * 400 with a reason per rejected item, and the valid items of the same batch
 * reach WebSocket clients on two gateway processes, in order, once each.
 */
describe('a mixed ingest batch, from the publisher to clients on two gateways', () => {
  let f: StreamFixture;
  let gateways: GatewayProcess[];
  let publisher: PublisherProcess;

  beforeAll(async () => {
    f = await StreamFixture.start();
    [gateways, publisher] = await Promise.all([
      Promise.all([f.gateway(), f.gateway()]),
      startPublisherProcess({ HYDRA_REDIS_URL: f.redis.url }),
    ]);
  });
  afterAll(async () => {
    await publisher?.stop();
    await f?.stop();
  });

  it('answers 400 with per-item reasons and delivers every valid item to a client on each gateway', async () => {
    const { key } = await f.key(['signals', 'aircraft', 'alerts']);
    const clients = gateways.map((gw) => f.client(withKey(gw.url, key, '&snapshot=false')));
    await Promise.all(clients.map((c) => c.waitFor((m) => m.type === 'connected')));

    const batch = [
      { scope: 'signals', data: { kind: 'rf', label: 'valid-1' } },
      { scope: 'planes', data: { id: 'x' } },
      { scope: 'aircraft', data: { id: 'valid2', callsign: 'EIN2' } },
      { scope: 'aircraft', data: { lat: 1 } },
      { scope: 'aircraft', data: { id: 'bad3', lat: 'north' } },
      { scope: 'alerts', data: { identifier: 'valid-3', severity: 'Minor' } },
    ];
    const res = await fetch(publisher.ingestUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      accepted: number;
      rejected: { index: number; reason: string }[];
      events: { index: number; scope: string; seq: number }[];
    };
    expect(body.accepted).toBe(3);
    expect(body.rejected.map((r) => r.index)).toEqual([1, 3, 4]);
    const [unknownScope, missingId, wrongType] = body.rejected.map((r) => r.reason);
    expect(unknownScope).toMatch(/scope/);
    expect(missingId).toMatch(/aircraft\.data\.id/);
    expect(wrongType).toMatch(/aircraft\.data\.lat/);
    expect(body.events.map((e) => [e.index, e.scope])).toEqual([
      [0, 'signals'],
      [2, 'aircraft'],
      [5, 'alerts'],
    ]);

    // A marker after the batch: once it arrives, everything of the batch has (per-scope order, same bus).
    const marker = await f.publish('alerts', { identifier: 'marker' });
    for (const c of clients) {
      await c.waitFor((m) => m.type === 'alerts' && m.seq === marker);
      const received = c.messages
        .filter((m) => m.type !== 'connected')
        .map((m) => [m.type, m.seq, m.data] as const)
        .filter(([type, seq]) => !(type === 'alerts' && seq === marker));
      expect(received).toEqual(
        body.events.map((e) => [e.scope, e.seq, expect.objectContaining(batch[e.index]?.data)] as const),
      );
    }
  });
});
