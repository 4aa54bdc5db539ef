import { type EventPublisher, MemoryBackplane, type PublishedEvent, parseRetention } from '@hydra/backplane';
import type { IngestEvent } from '@hydra/protocol';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_ITEM_BYTES } from './config.js';
import { ingestBody } from './ingest.js';
import { createIngestMetrics } from './metrics.js';

/** Records what it was asked to publish and numbers events per scope from 1. */
function fakePublisher(fail = false): EventPublisher & { published: IngestEvent[] } {
  const seqs = new Map<string, number>();
  const published: IngestEvent[] = [];
  return {
    published,
    publish: async (events): Promise<PublishedEvent[]> => {
      if (fail) throw new Error('connect ECONNREFUSED');
      published.push(...events);
      return events.map((e) => {
        const seq = (seqs.get(e.scope) ?? 0) + 1;
        seqs.set(e.scope, seq);
        return { scope: e.scope, seq, ts: 1 };
      });
    },
  };
}

function setup(fail = false) {
  const registry = new Registry();
  return { registry, metrics: createIngestMetrics(registry), publisher: fakePublisher(fail) };
}

async function counter(registry: Registry, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric('hydra_ingest_events_total')?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

describe('ingestBody', () => {
  it('publishes a valid batch in input order and answers 200 with each seq', async () => {
    const { metrics, publisher, registry } = setup();
    const body = JSON.stringify([
      { scope: 'signals', data: { text: 'a' } },
      { scope: 'aircraft', data: { id: 'abc123' } },
      { scope: 'signals', data: { text: 'b' } },
    ]);
    const outcome = await ingestBody(body, 'application/json', publisher, metrics, DEFAULT_MAX_ITEM_BYTES);
    expect(outcome).toEqual({
      status: 200,
      body: {
        accepted: 3,
        rejected: [],
        events: [
          { index: 0, scope: 'signals', seq: 1 },
          { index: 1, scope: 'aircraft', seq: 1 },
          { index: 2, scope: 'signals', seq: 2 },
        ],
      },
    });
    expect(publisher.published.map((e) => e.data)).toEqual([{ text: 'a' }, { id: 'abc123' }, { text: 'b' }]);
    expect(await counter(registry, { scope: 'signals', result: 'accepted' })).toBe(2);
  });

  it('refuses an item whose data is over the item limit, with its size, and publishes the rest of the batch', async () => {
    const { metrics, publisher, registry } = setup();
    const big = { id: 'big', blob: 'é'.repeat(600) }; // 1,200+ bytes of UTF-8 in 600 UTF-16 units
    const body = JSON.stringify([
      { scope: 'alerts', data: { text: 'small' } },
      { scope: 'vessels', data: big },
      { scope: 'alerts', data: { text: 'after' } },
    ]);
    const outcome = await ingestBody(body, 'application/json', publisher, metrics, 1024);
    expect(outcome.status).toBe(400);
    if (!('accepted' in outcome.body)) throw new Error('expected a batch reply');
    const size = Buffer.byteLength(JSON.stringify(big));
    expect(outcome.body.rejected).toEqual([
      { index: 1, reason: `vessels.data: ${size} bytes as JSON, over the limit of 1024 (HYDRA_INGEST_MAX_ITEM_BYTES)` },
    ]);
    expect(publisher.published.map((e) => e.data)).toEqual([{ text: 'small' }, { text: 'after' }]);
    expect(await counter(registry, { scope: 'vessels', result: 'rejected' })).toBe(1);
    // Measured as stored, not as sent: numbers in exponent form grow when serialised again.
    const sent = `{"scope":"signals","data":{"v":[${Array(60).fill('9e20').join(',')}]}}`;
    expect(sent.length).toBeLessThan(1024);
    expect((await ingestBody(sent, undefined, publisher, metrics, 1024)).status).toBe(400);
    // At the limit exactly, it passes.
    const exact = await ingestBody(
      JSON.stringify({ scope: 'vessels', data: big }),
      undefined,
      publisher,
      metrics,
      size,
    );
    expect(exact.status).toBe(200);
  });

  it('answers 400 for a mixed batch, with reasons by index, and still publishes the valid items', async () => {
    const { metrics, publisher, registry } = setup();
    const body = [
      '{"scope":"vessels","data":{"id":"244660000"}}',
      '{"scope":"vessels","data":{}}',
      '{"scope":"planes","data":{}}',
      '{"scope":"alerts","data":{"note":"passes through"}}',
    ].join('\n');
    const outcome = await ingestBody(body, 'application/x-ndjson', publisher, metrics, DEFAULT_MAX_ITEM_BYTES);
    expect(outcome.status).toBe(400);
    if (!('accepted' in outcome.body)) throw new Error('expected a batch reply');
    expect(outcome.body.accepted).toBe(2);
    expect(outcome.body.rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(outcome.body.rejected[0]?.reason).toMatch(/id/);
    expect(outcome.body.rejected[1]?.reason).toMatch(/scope/);
    expect(outcome.body.events.map((e) => e.index)).toEqual([0, 3]);
    expect(publisher.published).toHaveLength(2);
    expect(await counter(registry, { scope: 'vessels', result: 'rejected' })).toBe(1);
    expect(await counter(registry, { scope: 'unknown', result: 'rejected' })).toBe(1);
  });

  it('does not publish when every item is rejected', async () => {
    const { metrics, publisher } = setup();
    const outcome = await ingestBody(
      '{"scope":"aircraft","data":{}}',
      undefined,
      publisher,
      metrics,
      DEFAULT_MAX_ITEM_BYTES,
    );
    expect(outcome.status).toBe(400);
    expect(publisher.published).toEqual([]);
  });

  it('answers 400 with a reason for a body that is not a batch', async () => {
    const { metrics, publisher } = setup();
    const outcome = await ingestBody('{"scope": ', 'application/json', publisher, metrics, DEFAULT_MAX_ITEM_BYTES);
    expect(outcome.status).toBe(400);
    expect(outcome.body).toMatchObject({ error: 'invalid body', reason: expect.stringMatching(/JSON/) });
  });

  it('answers 503, never 200, when the publish fails', async () => {
    const { metrics, publisher, registry } = setup(true);
    const outcome = await ingestBody(
      '{"scope":"signals","data":{}}',
      undefined,
      publisher,
      metrics,
      DEFAULT_MAX_ITEM_BYTES,
    );
    expect(outcome.status).toBe(503);
    expect(outcome.body).toEqual({ error: 'backplane unavailable' });
    expect(await counter(registry, { scope: 'signals', result: 'accepted' })).toBe(0);
  });

  it('stores a retried log item once (by data.id, else Idempotency-Key + index) and answers it with the original seq', async () => {
    const registry = new Registry();
    const metrics = createIngestMetrics(registry);
    const { bus } = new MemoryBackplane({ retention: parseRetention(undefined) });
    const body = [
      '{"scope":"alerts","data":{"id":"cap-1","headline":"a"}}',
      '{"scope":"signals","data":{"text":"no id"}}',
      '{"scope":"aircraft","data":{"id":"abc123"}}',
    ].join('\n');
    const first = await ingestBody(body, 'application/x-ndjson', bus, metrics, DEFAULT_MAX_ITEM_BYTES, 'batch-7');
    expect(first.body).toEqual({
      accepted: 3,
      rejected: [],
      events: [
        { index: 0, scope: 'alerts', seq: 1 },
        { index: 1, scope: 'signals', seq: 1 },
        { index: 2, scope: 'aircraft', seq: 1 },
      ],
    });
    const retry = await ingestBody(body, 'application/x-ndjson', bus, metrics, DEFAULT_MAX_ITEM_BYTES, 'batch-7');
    expect(retry.body).toEqual({
      accepted: 3,
      rejected: [],
      // The entity upsert is published again (idempotent by id); the log items are not.
      events: [
        { index: 0, scope: 'alerts', seq: 1, duplicate: true },
        { index: 1, scope: 'signals', seq: 1, duplicate: true },
        { index: 2, scope: 'aircraft', seq: 2 },
      ],
      duplicates: 2,
    });
    // Without the header the id-less log item has no key: stored again.
    const bare = await ingestBody(body, 'application/x-ndjson', bus, metrics, DEFAULT_MAX_ITEM_BYTES);
    expect((bare.body as { events: unknown[] }).events[1]).toEqual({ index: 1, scope: 'signals', seq: 2 });
    expect(await counter(registry, { scope: 'alerts', result: 'duplicate' })).toBe(2);
    expect(await counter(registry, { scope: 'alerts', result: 'accepted' })).toBe(1);
  });
});
