import { type Backplane, createBackplane, DEFAULT_RETENTION, redisChannels } from '@hydra/backplane';
import { startRedis, type TestRedis } from '@hydra/test-support';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIngestServer, type IngestServer } from '../src/ingest-server.js';
import { createLogger } from '../src/logger.js';
import { bearer, httpRequest } from './http-client.js';

const TOKEN = 'test-ingest-token-0123456789';
const LIMIT = 64 * 1024;
/** HYDRA_INGEST_MAX_ITEM_BYTES of this server: an item's data as JSON may be at most this big. */
const ITEM_LIMIT = 4096;

let redis: TestRedis;
let backplane: Backplane;
let ingest: IngestServer;
let port: number;
let registry: Registry;

beforeAll(async () => {
  redis = await startRedis();
  backplane = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
  registry = new Registry();
  ingest = createIngestServer({
    backplane,
    config: { ingestToken: TOKEN, maxBodyBytes: LIMIT, maxItemBytes: ITEM_LIMIT },
    logger: createLogger({ level: 'silent' }),
    registry,
  });
  port = (await ingest.listen(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await ingest?.close();
  await backplane?.close();
  await redis?.stop();
});

beforeEach(async () => {
  await redis.client().flushall();
});

const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
  httpRequest(port, {
    method: 'POST',
    path: '/v1/events',
    headers: { ...bearer(TOKEN), 'content-type': 'application/json', ...headers },
    body,
  });

const snapshotItems = async (scope: 'aircraft' | 'vessels' | 'signals' | 'alerts' | 'cyber') =>
  (await backplane.snapshots.read(scope)).items.map((i) => JSON.parse(i) as Record<string, unknown>);

describe('POST /v1/events', () => {
  it('stores a single JSON object and answers 200 with its seq', async () => {
    const reply = await post(JSON.stringify({ scope: 'aircraft', data: { id: 'a1b2c3', lat: 51.5, lon: -0.1 } }));
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ accepted: 1, rejected: [], events: [{ index: 0, scope: 'aircraft', seq: 1 }] });
    const snapshot = await backplane.snapshots.read('aircraft');
    expect(snapshot.seq).toBe(1);
    expect(JSON.parse(snapshot.items[0] ?? '{}')).toMatchObject({ id: 'a1b2c3', lat: 51.5, lon: -0.1 });
  });

  it('stores a JSON array in input order', async () => {
    const reply = await post(
      JSON.stringify([
        { scope: 'signals', data: { n: 1 } },
        { scope: 'signals', data: { n: 2 } },
        { scope: 'vessels', data: { id: '244660000' } },
      ]),
    );
    expect(reply.status).toBe(200);
    expect(reply.json().events).toEqual([
      { index: 0, scope: 'signals', seq: 1 },
      { index: 1, scope: 'signals', seq: 2 },
      { index: 2, scope: 'vessels', seq: 1 },
    ]);
    expect((await snapshotItems('signals')).map((d) => d['n'])).toEqual([1, 2]);
  });

  it('stores NDJSON, one event per line, and delivers each on the scope channel', async () => {
    const sub = redis.client();
    const frames: string[] = [];
    await sub.subscribe(redisChannels.scopeEvents('cyber'));
    sub.on('message', (_channel: string, message: string) => frames.push(message));
    const body = ['{"scope":"cyber","data":{"cve":"CVE-2024-3094"}}', '', '{"scope":"cyber","data":{"n":2}}', ''].join(
      '\n',
    );
    const reply = await post(body, { 'content-type': 'application/x-ndjson' });
    expect(reply.status).toBe(200);
    expect(reply.json().accepted).toBe(2);
    await expect.poll(() => frames.length).toBe(2);
    expect(frames.map((f) => JSON.parse(f))).toMatchObject([
      { type: 'cyber', seq: 1, data: { cve: 'CVE-2024-3094' } },
      { type: 'cyber', seq: 2, data: { n: 2 } },
    ]);
  });

  it('answers 400 for a mixed batch with a reason per rejected item, and stores the valid ones', async () => {
    const reply = await post(
      JSON.stringify([
        { scope: 'aircraft', data: { id: 'good01' } },
        { scope: 'planes', data: { id: 'x' } },
        { scope: 'aircraft', data: { lat: 1 } },
        { scope: 'aircraft', data: { id: 'bad02', lat: 'north' } },
        { scope: 'aircraft', data: { id: 'good02' } },
      ]),
    );
    expect(reply.status).toBe(400);
    const body = reply.json();
    expect(body.accepted).toBe(2);
    expect(body.events.map((e: { index: number }) => e.index)).toEqual([0, 4]);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 2, 3]);
    const [unknownScope, missingId, wrongType] = body.rejected.map((r: { reason: string }) => r.reason);
    expect(unknownScope).toMatch(/scope/);
    expect(missingId).toMatch(/aircraft\.data\.id/);
    expect(wrongType).toMatch(/aircraft\.data\.lat/);
    expect((await snapshotItems('aircraft')).map((d) => d['id']).sort()).toEqual(['good01', 'good02']);
  });

  it('refuses an item over the item limit with its size, and stores the rest of the batch', async () => {
    const reply = await post(
      JSON.stringify([
        { scope: 'vessels', data: { id: '244660000' } },
        { scope: 'vessels', data: { id: '211000001', blob: 'x'.repeat(ITEM_LIMIT) } },
        { scope: 'vessels', data: { id: '366000002' } },
      ]),
    );
    expect(reply.status).toBe(400);
    const body = reply.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toEqual([
      {
        index: 1,
        reason: expect.stringMatching(
          /^vessels\.data: \d+ bytes as JSON, over the limit of 4096 \(HYDRA_INGEST_MAX_ITEM_BYTES\)$/,
        ),
      },
    ]);
    expect((await snapshotItems('vessels')).map((d) => d['id']).sort()).toEqual(['244660000', '366000002']);
  });

  it('answers a retried batch with the original seqs (Idempotency-Key for an id-less log item), storing nothing twice', async () => {
    const body = JSON.stringify([
      { scope: 'signals', data: { text: 'no id' } },
      { scope: 'cyber', data: { id: 'indicator--1' } },
    ]);
    const first = await post(body, { 'idempotency-key': 'feed-1/batch-9' });
    expect(first.json()).toEqual({
      accepted: 2,
      rejected: [],
      events: [
        { index: 0, scope: 'signals', seq: 1 },
        { index: 1, scope: 'cyber', seq: 1 },
      ],
    });
    const retry = await post(body, { 'idempotency-key': 'feed-1/batch-9' });
    expect(retry.status).toBe(200);
    expect(retry.json()).toEqual({
      accepted: 2,
      rejected: [],
      events: [
        { index: 0, scope: 'signals', seq: 1, duplicate: true },
        { index: 1, scope: 'cyber', seq: 1, duplicate: true },
      ],
      duplicates: 2,
    });
    expect(await snapshotItems('signals')).toHaveLength(1);
    expect(await snapshotItems('cyber')).toHaveLength(1);
  });

  it('answers 400 for an Idempotency-Key that is not 1 to 200 printable ASCII characters, storing nothing', async () => {
    const reply = await post(JSON.stringify({ scope: 'signals', data: { text: 'x' } }), {
      'idempotency-key': 'k'.repeat(201),
    });
    expect(reply.status).toBe(400);
    expect(reply.json()).toEqual({
      error: 'invalid idempotency key',
      reason: expect.stringContaining('Idempotency-Key'),
    });
    expect((await backplane.snapshots.read('signals')).seq).toBe(0);
  });

  it('answers 400 with a reason for a body that is not JSON', async () => {
    const reply = await post('{"scope": "signals", ');
    expect(reply.status).toBe(400);
    expect(reply.json()).toMatchObject({ error: 'invalid body', reason: expect.stringMatching(/JSON/) });
  });

  it('answers 400 for an empty body', async () => {
    const reply = await post('');
    expect(reply.status).toBe(400);
    expect(reply.json().reason).toMatch(/empty/);
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', bearer('not-the-token')],
    ['a token prefix', bearer(TOKEN.slice(0, -1))],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
  ])('answers 401 for %s without storing or echoing anything', async (_name, auth) => {
    const reply = await httpRequest(port, {
      method: 'POST',
      path: '/v1/events',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ scope: 'signals', data: {} }),
    });
    expect(reply.status).toBe(401);
    expect(reply.json()).toEqual({ error: 'unauthorized' });
    expect(reply.text).not.toContain(TOKEN.slice(0, 8));
    expect((await backplane.snapshots.read('signals')).seq).toBe(0);
  });

  it('answers 413 with the limit as soon as a streamed body passes it, without storing anything', async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    let sent = 0;
    const reply = await httpRequest(port, {
      method: 'POST',
      path: '/v1/events',
      headers: { ...bearer(TOKEN), 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      // Keeps sending up to 64× the limit; the answer must come long before that.
      body: (write, end) => {
        const pump = () => {
          while (sent < LIMIT * 64) {
            sent += chunk.length;
            if (!write(chunk)) return void setTimeout(pump, 1);
          }
          end();
        };
        pump();
      },
    });
    expect(reply.status).toBe(413);
    expect(reply.json()).toEqual({ error: 'payload too large', limitBytes: LIMIT });
    expect(reply.headers.connection).toBe('close');
    expect(sent).toBeLessThan(LIMIT * 64);
  });

  it('answers 413 at once for a declared Content-Length over the limit', async () => {
    const body = Buffer.alloc(LIMIT + 1, 0x20);
    const reply = await post(body, { 'content-length': String(body.length) });
    expect(reply.status).toBe(413);
    expect(reply.json().limitBytes).toBe(LIMIT);
  });

  it('accepts a body of exactly the limit', async () => {
    // NDJSON lines of items under the item limit, the last one padded to make the body exactly LIMIT bytes.
    const line = (pad: number) => JSON.stringify({ scope: 'signals', data: { pad: 'x'.repeat(pad) } });
    const lines: string[] = [];
    let size = 0;
    while (LIMIT - size > ITEM_LIMIT) {
      lines.push(line(ITEM_LIMIT / 2));
      size += lines.at(-1)!.length + 1;
    }
    lines.push(line(LIMIT - size - line(0).length));
    const body = lines.join('\n');
    expect(Buffer.byteLength(body)).toBe(LIMIT);
    expect((await post(body)).status).toBe(200);
  });
});

describe('routes', () => {
  it('answers 404 on other paths and 405 on a wrong method', async () => {
    expect((await httpRequest(port, { path: '/nope' })).status).toBe(404);
    const wrong = await httpRequest(port, { method: 'GET', path: '/v1/events' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    expect((await httpRequest(port, { method: 'POST', path: '/healthz', body: '' })).status).toBe(405);
  });

  it('serves /healthz and /readyz', async () => {
    expect((await httpRequest(port, { path: '/healthz' })).status).toBe(200);
    const ready = await httpRequest(port, { path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  it('serves metrics with bounded labels and never a token', async () => {
    await post('{}', { authorization: `Bearer ${TOKEN}x` });
    await post(
      JSON.stringify([
        { scope: 'alerts', data: {} },
        { scope: 'weather', data: { secret: 'payload-value' } },
      ]),
    );
    const metrics = await httpRequest(port, { path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/hydra_ingest_events_total\{scope="alerts",result="accepted"\} \d+/);
    expect(metrics.text).toMatch(/hydra_ingest_events_total\{scope="unknown",result="rejected"\} \d+/);
    expect(metrics.text).toMatch(/hydra_ingest_requests_total\{status="401"\} \d+/);
    expect(metrics.text).toMatch(/hydra_ingest_publish_duration_seconds_count \d+/);
    expect(metrics.text).not.toContain(TOKEN);
    expect(metrics.text).not.toContain('weather');
    expect(metrics.text).not.toContain('payload-value');
  });
});
