import { type Backplane, createBackplane, parseRetention, redisKeys } from '@hydra/backplane';
import { startRedis, type TestRedis } from '@hydra/test-support';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIngestServer, type IngestServer } from '../src/ingest-server.js';
import { createLogger } from '../src/logger.js';
import { bearer, httpRequest } from './http-client.js';
import { openStream } from './ndjson-stream.js';

const TOKEN = 'stream-test-token-0123456789';
const ITEM_LIMIT = 4096;
const LINE_LIMIT = 8192;
const FAILURE_LIMIT = 3;

let redis: TestRedis;
let backplane: Backplane;
let ingest: IngestServer;
let port: number;

beforeAll(async () => {
  redis = await startRedis();
  backplane = createBackplane({
    kind: 'redis',
    url: redis.url,
    retention: parseRetention('alerts:max=10000,alerts:history=10000'),
  });
  ingest = createIngestServer({
    backplane,
    config: {
      ingestToken: TOKEN,
      maxBodyBytes: 1 << 20,
      maxItemBytes: ITEM_LIMIT,
      streamMaxLineBytes: LINE_LIMIT,
      authFailureLimit: FAILURE_LIMIT,
      authThrottleMs: 60_000,
    },
    logger: createLogger({ level: 'silent' }),
    registry: new Registry(),
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

const stream = (headers: Record<string, string> = {}, localAddress?: string) =>
  openStream(port, { headers: { ...bearer(TOKEN), ...headers }, ...(localAddress ? { localAddress } : {}) });

const signal = (n: number) => JSON.stringify({ scope: 'signals', data: { n } });

describe('POST /v1/events/stream', () => {
  it('acknowledges each line with its seq as it is stored, before the body ends, and ends with the counts', async () => {
    const client = stream();
    expect((await client.response).headers['content-type']).toMatch(/^application\/x-ndjson/);
    // One line, then its ack, while the request is still open: acks are not held until the end.
    client.write(`${signal(1)}\n`);
    await client.untilAcks(1);
    expect(client.acks).toEqual([{ line: 1, status: 200, scope: 'signals', seq: 1 }]);

    // A line cut across writes (in the middle of a UTF-8 character), a blank line, another scope.
    const cut = Buffer.from(`${JSON.stringify({ scope: 'signals', data: { n: 2, text: 'é€' } })}\n\n`);
    const inCharacter = cut.indexOf('€') + 1;
    client.write(cut.subarray(0, inCharacter));
    await new Promise((resolve) => setImmediate(resolve));
    client.write(cut.subarray(inCharacter));
    client.write(`${JSON.stringify({ scope: 'vessels', data: { id: '244660000' } })}\n${signal(3)}`);
    client.endBody();
    const end = await client.ended();
    expect(client.acks).toEqual([
      { line: 1, status: 200, scope: 'signals', seq: 1 },
      { line: 2, status: 200, scope: 'signals', seq: 2 },
      { line: 4, status: 200, scope: 'vessels', seq: 1 },
      { line: 5, status: 200, scope: 'signals', seq: 3 },
    ]);
    expect(end).toEqual({ end: 'complete', lines: 5, accepted: 4, duplicates: 0, rejected: 0, failed: 0 });
    const signals = (await backplane.snapshots.read('signals')).items.map((i) => JSON.parse(i));
    expect(signals.map((d) => d.n)).toEqual([1, 2, 3]);
    expect(signals[1].text).toBe('é€');
  });

  it('refuses a malformed line with the batch path reason and loses nothing else', async () => {
    const lines = [
      signal(1),
      '{"scope":"signals","data":',
      JSON.stringify({ scope: 'aircraft', data: { id: 'abc', lat: 123 } }),
      JSON.stringify({ scope: 'signals', data: { blob: 'x'.repeat(ITEM_LIMIT) } }),
      signal(2),
    ];
    const tooLong = JSON.stringify({ scope: 'signals', data: { blob: 'y'.repeat(LINE_LIMIT) } });
    const client = stream();
    await client.writeLines([...lines, tooLong, signal(3)]);
    client.endBody();
    const end = await client.ended();

    // The same lines as an NDJSON batch: the same reasons, line for line.
    await redis.client().flushall();
    const batch = await httpRequest(port, {
      method: 'POST',
      path: '/v1/events',
      headers: { ...bearer(TOKEN), 'content-type': 'application/x-ndjson' },
      body: lines.join('\n'),
    });
    const batchReasons = (batch.json().rejected as { index: number; reason: string }[]).map((r) => r.reason);
    expect(batchReasons).toHaveLength(3);

    expect(client.acks.map((a) => a.status)).toEqual([200, 400, 400, 400, 200, 400, 200]);
    expect(client.acks.filter((a) => a.status === 400).map((a) => a.reason)).toEqual([
      ...batchReasons,
      `line 6: longer than the limit of ${LINE_LIMIT} bytes (HYDRA_INGEST_STREAM_MAX_LINE_BYTES)`,
    ]);
    expect(client.acks.filter((a) => a.status === 200).map((a) => a.seq)).toEqual([1, 2, 3]);
    expect(end).toMatchObject({ end: 'complete', lines: 7, accepted: 3, rejected: 4, failed: 0 });
  });

  it('stores a retried log line once: acknowledged with its original seq and duplicate (data.id, Idempotency-Key)', async () => {
    const lines = [
      JSON.stringify({ scope: 'alerts', data: { id: 'cap-1', headline: 'one' } }),
      JSON.stringify({ scope: 'alerts', data: { headline: 'no id: keyed by Idempotency-Key and index' } }),
    ];
    const send = async () => {
      const client = stream({ 'idempotency-key': 'feed-7-stream-1' });
      await client.writeLines(lines);
      client.endBody();
      return { end: await client.ended(), acks: client.acks };
    };
    const first = await send();
    expect(first.acks).toEqual([
      { line: 1, status: 200, scope: 'alerts', seq: 1 },
      { line: 2, status: 200, scope: 'alerts', seq: 2 },
    ]);
    const retry = await send();
    expect(retry.acks).toEqual([
      { line: 1, status: 200, scope: 'alerts', seq: 1, duplicate: true },
      { line: 2, status: 200, scope: 'alerts', seq: 2, duplicate: true },
    ]);
    expect(retry.end).toMatchObject({ end: 'complete', accepted: 2, duplicates: 2 });
    expect(await redis.client().xlen(redisKeys.scopeHistory('alerts'))).toBe(2);
  });

  it('refuses a wrong token (401) and another Content-Type (415); wrong tokens count toward the batch path throttle', async () => {
    // A source of its own (a loopback alias), so the throttle of other tests is not touched.
    const source = '127.0.0.9';
    const noToken = openStream(port, { localAddress: source });
    expect((await noToken.response).status).toBe(401);
    const wrongType = stream({ 'content-type': 'application/json' }, source);
    expect(await wrongType.response).toMatchObject({
      status: 415,
      body: { error: 'unsupported content-type', supported: ['application/x-ndjson', 'application/ndjson'] },
    });
    for (let i = 0; i < FAILURE_LIMIT; i++) {
      const wrong = openStream(port, { headers: bearer('not-the-token'), localAddress: source });
      expect(await wrong.response).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    }
    // The source is now cooling down on both routes, whatever it sends.
    expect((await stream({}, source).response).status).toBe(429);
    const batch = await httpRequest(port, {
      method: 'POST',
      path: '/v1/events',
      headers: bearer(TOKEN),
      body: signal(1),
      localAddress: source,
    });
    expect(batch.status).toBe(429);
    expect((await backplane.snapshots.read('signals')).seq).toBe(0);
  });

  it('ends a stream that sends nothing for the idle timeout: what it sent is acknowledged, a line cut short dropped', async () => {
    const idle = createIngestServer({
      backplane,
      config: { ingestToken: TOKEN, maxBodyBytes: 1 << 20, maxItemBytes: ITEM_LIMIT, streamIdleTimeoutMs: 300 },
      logger: createLogger({ level: 'silent' }),
      registry: new Registry(),
    });
    try {
      const client = openStream((await idle.listen(0, '127.0.0.1')).port, { headers: bearer(TOKEN) });
      client.write(`${signal(1)}\n{"scope":"signals","data":{"n":`);
      const end = await client.ended();
      expect(client.acks).toEqual([{ line: 1, status: 200, scope: 'signals', seq: 1 }]);
      expect(end).toMatchObject({ end: 'idle_timeout', lines: 1, accepted: 1 });
      expect(end?.reason).toMatch(/HYDRA_INGEST_STREAM_IDLE_TIMEOUT_MS/);
      await client.closed;
    } finally {
      await idle.close();
    }
  });

  it('outlives the batch body deadline, which still answers a stalled POST /v1/events 408', async () => {
    const server = createIngestServer({
      backplane,
      config: { ingestToken: TOKEN, maxBodyBytes: 1 << 20, maxItemBytes: ITEM_LIMIT },
      logger: createLogger({ level: 'silent' }),
      registry: new Registry(),
      bodyTimeoutMs: 300,
    });
    try {
      const serverPort = (await server.listen(0, '127.0.0.1')).port;
      const client = openStream(serverPort, { headers: bearer(TOKEN) });
      client.write(`${signal(1)}\n`);
      await client.untilAcks(1);
      const stalled = await httpRequest(serverPort, {
        method: 'POST',
        path: '/v1/events',
        headers: { ...bearer(TOKEN), 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' },
        body: (write) => write(Buffer.from(`${signal(9)}\n`)),
      });
      expect(stalled.status).toBe(408);
      expect(stalled.json()).toEqual({ error: 'request timeout', limitMs: 300 });
      // The stream, open since before that request, still takes lines.
      client.write(`${signal(2)}\n`);
      client.endBody();
      expect(await client.ended()).toMatchObject({ end: 'complete', accepted: 2 });
      expect((await backplane.snapshots.read('signals')).seq).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('refuses a stream over HYDRA_INGEST_MAX_STREAMS with 503 and Retry-After before reading it, counted; the open ones go on, and a slot freed takes a new one', async () => {
    const registry = new Registry();
    const server = createIngestServer({
      backplane,
      config: { ingestToken: TOKEN, maxBodyBytes: 1 << 20, maxItemBytes: ITEM_LIMIT, maxStreams: 2 },
      logger: createLogger({ level: 'silent' }),
      registry,
    });
    const refusedCount = async () =>
      (await registry.getSingleMetric('hydra_ingest_streams_refused_total')?.get())?.values[0]?.value ?? 0;
    try {
      const serverPort = (await server.listen(0, '127.0.0.1')).port;
      const open = [1, 2].map(() => openStream(serverPort, { headers: bearer(TOKEN) }));
      for (const client of open) expect((await client.response).status).toBe(200);

      const third = openStream(serverPort, { headers: bearer(TOKEN) });
      const refused = await third.response;
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toEqual({ error: 'too many streams', limit: 2 });
      expect(await refusedCount()).toBe(1);

      // The open streams lose nothing; once one has ended, a new stream is taken.
      open[0]!.write(`${signal(1)}\n`);
      open[0]!.endBody();
      expect(await open[0]!.ended()).toMatchObject({ end: 'complete', accepted: 1 });
      const fourth = openStream(serverPort, { headers: bearer(TOKEN) });
      expect((await fourth.response).status).toBe(200);
      for (const [n, client] of [open[1]!, fourth].entries()) {
        client.write(`${signal(2 + n)}\n`);
        client.endBody();
        expect(await client.ended()).toMatchObject({ end: 'complete', accepted: 1 });
      }
      expect((await backplane.snapshots.read('signals')).seq).toBe(3);
      expect(await refusedCount()).toBe(1);
    } finally {
      await server.close();
    }
  });
});
