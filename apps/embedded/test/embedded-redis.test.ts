import { connect } from 'node:net';
import { RedisKeyStore } from '@hydra/backplane';
import {
  freePort,
  type ServiceProcess,
  StreamClient,
  spawnService,
  startRedis,
  type TestRedis,
} from '@hydra/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { untilWholeStream } from './whole-stream.js';

/**
 * `HYDRA_REDIS_URL=redis://… pnpm start` with nothing else set: the embedded
 * process on a real Redis must start (generating an ingest token for the run),
 * stream every scope to the key it prints, and on SIGINT close its clients
 * with 1001, exit 0 and leave no usable demo key behind in Redis.
 */
describe('the embedded process on Redis', () => {
  let redis: TestRedis;
  let embedded: ServiceProcess | undefined;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await embedded?.stop();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('starts with only HYDRA_REDIS_URL, streams to the printed key, revokes it on SIGINT and exits 0', async () => {
    embedded = spawnService('apps/embedded/dist/main.js', {
      HYDRA_REDIS_URL: redis.url,
      HYDRA_INGEST_TOKEN: '', // unset, as on a fresh shell
      HYDRA_HOST: '127.0.0.1',
      HYDRA_PORT: '0',
      HYDRA_ADMIN_PORT: '0',
      HYDRA_PUBLISHER_PORT: '0',
      HYDRA_LOG_LEVEL: 'info',
    });
    const service = embedded;
    const text = () => service.logs.map((l) => (typeof l.msg === 'string' ? l.msg : '')).join('\n');
    await service.waitForLog((l) => l.msg === 'embedded ready');
    const banner = text();
    expect(banner).toMatch(/running \(redis backplane/);
    const url = /Stream URL\s+(ws:\/\/\S+)/.exec(banner)?.[1]?.replace('localhost', '127.0.0.1');
    const key = /Demo API key\s+(hydra_k1_[A-Za-z0-9_-]+)/.exec(banner)?.[1];
    const ingestUrl = /Ingest\s+POST (http:\/\/\S+)/.exec(banner)?.[1];
    const token = /Ingest token\s+(\S+)/.exec(banner)?.[1];
    expect(url && key && ingestUrl && token, banner).toBeTruthy();

    // The demo key is in Redis's key store, expiring in 24 h.
    const store = new RedisKeyStore(redis.client());
    const record = await store.lookup(key as string);
    expect(record).toMatchObject({ name: 'demo (pnpm start)', revokedAt: null });
    expect((record?.expiresAt ?? 0) - (record?.createdAt ?? 0)).toBe(24 * 3600 * 1000);

    // The generated token guards ingest (on loopback).
    expect(ingestUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const post = (authorization?: string) =>
      fetch(ingestUrl as string, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ scope: 'aircraft', data: { id: '4ca2d1', callsign: 'EIN123', lat: 53.42, lon: -6.27 } }),
      });
    expect((await post()).status).toBe(401);
    expect((await post(`Bearer ${token}`)).status).toBe(200);

    const client = new StreamClient(`${url}?apiKey=${key}`);
    await untilWholeStream(client, 15_000);

    service.kill('SIGINT');
    expect((await client.closed).code).toBe(1001);
    expect(await service.exited).toBe(0);

    const after = await store.lookup(key as string);
    expect(after?.revokedAt).toEqual(expect.any(Number));
    // The token was printed in the banner and nowhere else (no log line carries it).
    const mentions = service.logs.filter((l) => JSON.stringify(l).includes(token as string));
    expect(mentions.map((l) => l.msg)).toEqual([expect.stringMatching(/Ingest token/)]);
    expect(service.stderr()).not.toContain(token);
  }, 60_000);

  it('revokes the demo key when a SIGINT arrives while the key is being created', async () => {
    const admin = redis.client();
    const store = new RedisKeyStore(admin);
    const ingestPort = await freePort();
    await admin.flushall(); // no key of the test before
    // Writes wait at Redis (reads, SUBSCRIBE and the start go on): the key's creation is sent but cannot land yet.
    await admin.call('CLIENT', 'PAUSE', '30000', 'WRITE');
    try {
      embedded = spawnService('apps/embedded/dist/main.js', {
        HYDRA_REDIS_URL: redis.url,
        HYDRA_INGEST_TOKEN: 'race-test-token-0123456789',
        HYDRA_HOST: '127.0.0.1',
        HYDRA_PORT: '0',
        HYDRA_ADMIN_PORT: '0',
        HYDRA_PUBLISHER_PORT: String(ingestPort),
        HYDRA_DRAIN_MS: '200',
      });
      const service = embedded;
      await service.waitForLog((l) => l.msg === 'listening');
      // Ingest listens right before the key is created: once it accepts, the creation is on its way to Redis.
      await untilAccepting(ingestPort);
      service.kill('SIGINT');
      await service.waitForLog((l) => l.msg === 'shutting down');
      expect(service.logs.some((l) => l.msg === 'embedded ready')).toBe(false);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
    }
    expect(await embedded.exited).toBe(0);
    // The creation landed after the signal; the shutdown waited for it and revoked the key.
    const demoKeys = (await store.list()).filter((r) => r.name === 'demo (pnpm start)');
    expect(demoKeys).toHaveLength(1);
    expect(demoKeys[0]?.revokedAt).toEqual(expect.any(Number));
    admin.disconnect();
  }, 60_000);
});

/** Resolves once a TCP connection to the port on loopback succeeds (retrying refusals, bounded). */
async function untilAccepting(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (performance.now() > deadline) throw new Error(`port ${port} never accepted`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
