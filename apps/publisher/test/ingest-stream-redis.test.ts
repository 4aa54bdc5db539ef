import type { Socket } from 'node:net';
import { type Backplane, createBackplane, parseRetention, redisKeys } from '@hydra/backplane';
import { startRedis, type TestRedis } from '@hydra/test-support';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestServer, type IngestServer } from '../src/ingest-server.js';
import { createLogger } from '../src/logger.js';
import { bearer } from './http-client.js';
import { openStream } from './ndjson-stream.js';

// Killing and restarting Redis needs a local redis-server (not a container).
process.env.HYDRA_TEST_REDIS ??= 'local';

const TOKEN = 'stream-redis-token';

function* lines(count: number, line: (i: number) => string): Generator<string> {
  for (let i = 0; i < count; i++) yield line(i);
}

async function metric(registry: Registry, name: string): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (found?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

interface Rig {
  redis: TestRedis;
  admin: Redis;
  backplane: Backplane;
  ingest: IngestServer;
  registry: Registry;
  port: number;
  /** Server-side sockets of the connections, newest last. */
  sockets: Socket[];
}

async function startRig(options: { persist: boolean; retention: string; maxInFlight?: number }): Promise<Rig> {
  const redis = await startRedis({ persist: options.persist });
  const admin = redis.client();
  admin.on('error', () => {});
  const backplane = createBackplane({ kind: 'redis', url: redis.url, retention: parseRetention(options.retention) });
  const registry = new Registry();
  const ingest = createIngestServer({
    backplane,
    config: {
      ingestToken: TOKEN,
      maxBodyBytes: 1 << 20,
      maxItemBytes: 64 * 1024,
      ...(options.maxInFlight === undefined ? {} : { streamMaxInFlightLines: options.maxInFlight }),
    },
    logger: createLogger({ level: 'silent' }),
    registry,
  });
  const sockets: Socket[] = [];
  ingest.server.on('connection', (socket: Socket) => sockets.push(socket));
  const { port } = await ingest.listen(0, '127.0.0.1');
  return { redis, admin, backplane, ingest, registry, port, sockets };
}

async function stopRig(rig: Rig | undefined): Promise<void> {
  if (!rig) return;
  await rig.ingest.close();
  await rig.backplane.close();
  rig.admin.disconnect();
  await rig.redis.stop();
}

describe('a stream when Redis is slower than the feed (CLIENT PAUSE)', () => {
  const MAX_IN_FLIGHT = 64;
  /** ~1 KB lines, 10 MB in all: far more than the stream may hold, and more than socket buffers absorb. */
  const LINES = 10_000;
  const pad = 'x'.repeat(1000);
  const line = (i: number) => JSON.stringify({ scope: 'signals', data: { n: i, pad } });
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig({
      persist: false,
      retention: 'signals:max=20000,signals:history=20000',
      maxInFlight: MAX_IN_FLIGHT,
    });
  });
  afterAll(() => stopRig(rig));

  it('stops reading at the in-flight bound (TCP pushes back on the client), then resumes and stores every line in order', async () => {
    await expect.poll(() => rig.backplane.isHealthy(), { timeout: 10_000 }).toBe(true);
    // Write commands (scripts included) wait; this connection's UNPAUSE does not.
    await rig.admin.call('CLIENT', 'PAUSE', '60000', 'WRITE');
    const client = openStream(rig.port, { headers: bearer(TOKEN) });
    let unpaused = false;
    try {
      expect((await client.response).status).toBe(200);
      let allWritten = false;
      const writing = client.writeLines(lines(LINES, line)).then((n) => {
        allWritten = true;
        return n;
      });
      await expect
        .poll(() => metric(rig.registry, 'hydra_ingest_stream_lines_in_flight'), { timeout: 20_000 })
        .toBe(MAX_IN_FLIGHT);
      // The client's writes wait for `drain` (the socket buffers between it and the server are full),
      // or, with buffers that large, it wrote everything into them.
      await expect.poll(() => client.blocked || allWritten, { timeout: 20_000 }).toBe(true);
      const socket = rig.sockets.at(-1) as Socket;
      const readBefore = socket.bytesRead;
      // A window, not a synchronisation: a stream that kept reading would take megabytes in it.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const readAfter = socket.bytesRead;
      // Read: the lines in flight, one socket read buffered ahead, and what the request stream holds (16 KiB).
      expect(readAfter - readBefore).toBeLessThan(64 * 1024);
      expect(readAfter).toBeLessThan(1024 * 1024);
      expect(client.bytesWritten).toBeGreaterThan(4 * readAfter);
      expect(await metric(rig.registry, 'hydra_ingest_stream_lines_in_flight')).toBe(MAX_IN_FLIGHT);
      expect(await metric(rig.registry, 'hydra_ingest_stream_backpressure_total')).toBeGreaterThanOrEqual(1);
      expect(client.acks).toEqual([]);

      await rig.admin.call('CLIENT', 'UNPAUSE');
      unpaused = true;
      expect(await writing).toBe(LINES);
      client.endBody();
      const end = await client.ended(60_000);
      expect(end).toMatchObject({ end: 'complete', lines: LINES, accepted: LINES, failed: 0 });
      expect(client.acks.map((a) => a.line)).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
      expect(client.acks.map((a) => a.seq)).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
      expect(await metric(rig.registry, 'hydra_ingest_stream_lines_in_flight')).toBe(0);
    } finally {
      if (!unpaused) await rig.admin.call('CLIENT', 'UNPAUSE');
      client.destroy();
    }
  });
});

describe('a stream when Redis dies (SIGKILL)', () => {
  const TOTAL = 20_000;
  const line = (i: number) => JSON.stringify({ scope: 'alerts', data: { id: `k-${i}`, n: i } });
  let rig: Rig;

  beforeAll(async () => {
    // AOF on, as production runs it: what Redis acknowledged survives its SIGKILL.
    rig = await startRig({ persist: true, retention: 'alerts:max=40000,alerts:history=40000' });
  });
  afterAll(() => stopRig(rig));

  const storedIds = async () => {
    const entries = (await rig.admin.xrange(redisKeys.scopeHistory('alerts'), '-', '+')) as Array<[string, string[]]>;
    return entries.map(
      ([, fields]) => (JSON.parse(fields[1] as string) as { seq: number; data: { id: string } }).data.id,
    );
  };

  it('acknowledges nothing it did not store, ends with the reason and closes; a retry stores each line once', async () => {
    await expect.poll(() => rig.backplane.isHealthy(), { timeout: 10_000 }).toBe(true);
    const client = openStream(rig.port, { headers: bearer(TOKEN) });
    expect((await client.response).status).toBe(200);
    // The body stays open: only Redis going away can end this stream.
    const writing = client.writeLines(lines(TOTAL, line));
    await client.untilAcks(1000);
    await rig.redis.kill();
    const end = await client.ended();
    await client.closed;
    const written = await writing;

    expect(end).toMatchObject({ end: 'backplane_unavailable', reason: expect.stringMatching(/^Redis is unreachable/) });
    const statuses = client.acks.map((a) => a.status);
    const firstFailed = statuses.indexOf(503);
    // Acks in line order: the stored lines, then those of the failed groups; nothing stored after a failure.
    expect(firstFailed).toBeGreaterThanOrEqual(1000);
    expect(statuses.slice(0, firstFailed).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(firstFailed).every((s) => s === 503)).toBe(true);
    expect(client.acks.map((a) => a.line)).toEqual(Array.from({ length: client.acks.length }, (_, i) => i + 1));
    expect(end).toMatchObject({
      lines: client.acks.length,
      accepted: firstFailed,
      failed: statuses.length - firstFailed,
    });
    expect(client.acks.slice(firstFailed)[0]).toEqual({
      line: firstFailed + 1,
      status: 503,
      error: 'backplane unavailable',
    });

    // While Redis is down a new stream is refused before it starts.
    await expect.poll(() => rig.backplane.isHealthy(), { timeout: 10_000 }).toBe(false);
    const refused = openStream(rig.port, { headers: bearer(TOKEN) });
    expect(await refused.response).toMatchObject({ status: 503, body: { error: 'backplane unavailable' } });

    await rig.redis.restart();
    await expect.poll(() => rig.backplane.isHealthy(), { timeout: 10_000 }).toBe(true);
    // Every line acknowledged 200 is stored, once.
    const before = await storedIds();
    expect(new Set(before).size).toBe(before.length);
    const stored = new Set(before);
    for (const ack of client.acks.slice(0, firstFailed)) expect(stored.has(`k-${ack.line - 1}`)).toBe(true);

    // The feed sends again everything it wrote: each line ends up stored once.
    const retry = openStream(rig.port, { headers: bearer(TOKEN) });
    expect(await retry.writeLines(lines(written, line))).toBe(written);
    retry.endBody();
    const retried = await retry.ended(60_000);
    expect(retried).toMatchObject({ end: 'complete', lines: written, accepted: written, failed: 0 });
    expect(retried?.duplicates).toBe(before.length);
    const after = await storedIds();
    expect(after).toHaveLength(written);
    expect(new Set(after).size).toBe(written);
    const seqs = (await rig.admin.xrange(redisKeys.scopeHistory('alerts'), '-', '+')).map(
      ([, fields]) => (JSON.parse(fields[1] as string) as { seq: number }).seq,
    );
    expect(seqs).toEqual(Array.from({ length: written }, (_, i) => i + 1));
  });
});
