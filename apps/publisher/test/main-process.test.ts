import { type BusHandler, parseRetention, RedisBackplane } from '@hydra/backplane';
import { DEFAULT_DEMO_RATES, DemoWorld } from '@hydra/demo-feed';
import { SCOPES, type Scope } from '@hydra/protocol';
import { spawnService, startRedis, type TestRedis } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, httpRequest } from './http-client.js';

// Runs the built publisher (`pnpm test` builds first): `node apps/publisher/dist/main.js`.
const MAIN = 'apps/publisher/dist/main.js';

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe('publisher process', () => {
  it('starts on Redis, logs its port, serves ingest and probes, and exits 0 on SIGTERM', async () => {
    const service = spawnService(MAIN, {
      HYDRA_REDIS_URL: redis.url,
      HYDRA_INGEST_TOKEN: 'proc-token',
      HYDRA_PUBLISHER_PORT: '0',
    });
    try {
      const line = await service.waitForLog((l) => l.msg === 'publisher listening');
      const port = Number(line['port']);
      expect(port).toBeGreaterThan(0);
      expect((await httpRequest(port, { path: '/healthz' })).status).toBe(200);
      await expect.poll(async () => (await httpRequest(port, { path: '/readyz' })).status).toBe(200);
      const reply = await httpRequest(port, {
        method: 'POST',
        path: '/v1/events',
        headers: bearer('proc-token'),
        body: '{"scope":"signals","data":{"text":"hello"}}',
      });
      expect(reply.status).toBe(200);
      const metrics = await httpRequest(port, { path: '/metrics' });
      expect(metrics.text).toContain('hydra_publisher_process_cpu_seconds_total');

      service.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      expect(JSON.stringify(service.logs)).not.toContain('proc-token');
    } finally {
      await service.stop();
    }
  });

  it('answers 429 to a source after HYDRA_AUTH_FAILURE_LIMIT wrong tokens, counts it, and never logs a token', async () => {
    const service = spawnService(MAIN, {
      HYDRA_REDIS_URL: redis.url,
      HYDRA_INGEST_TOKEN: 'right-token',
      HYDRA_PUBLISHER_PORT: '0',
      HYDRA_AUTH_FAILURE_LIMIT: '3',
      HYDRA_AUTH_THROTTLE_MS: '60000',
    });
    try {
      const port = Number((await service.waitForLog((l) => l.msg === 'publisher listening'))['port']);
      const post = (authorization: Record<string, string>, localAddress = '127.0.0.1') =>
        httpRequest(port, {
          method: 'POST',
          path: '/v1/events',
          headers: authorization,
          body: '{"scope":"signals","data":{"text":"hi"}}',
          localAddress,
        });
      // A missing header is not a guess: never counted.
      for (let i = 0; i < 5; i++) expect((await post({})).status).toBe(401);
      for (const guess of ['guess-1', 'guess-2', 'guess-3']) expect((await post(bearer(guess))).status).toBe(401);

      // The source is in its cool-down: refused before any token check, the right token included.
      const refused = await post(bearer('right-token'));
      expect(refused.status).toBe(429);
      expect(refused.json()).toEqual({ error: 'too many failed authentications' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(50);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect((await post(bearer('guess-4'))).status).toBe(429);
      // Another source is not affected.
      expect((await post(bearer('right-token'), '127.0.0.2')).status).toBe(200);

      const metrics = await httpRequest(port, { path: '/metrics' });
      expect(metrics.text).toMatch(/^hydra_ingest_auth_throttled_total 2$/m);
      expect(metrics.text).toMatch(/^hydra_ingest_requests_total\{status="429"\} 2$/m);
      const warning = await service.waitForLog(
        (l) => l.msg === 'repeated failed ingest authentications; source throttled',
      );
      expect(warning).toMatchObject({ source: '127.0.0.1', failures: 3, coolDownMs: 60_000 });
      expect(service.logs.filter((l) => l.msg === warning.msg)).toHaveLength(1);
      expect(JSON.stringify(service.logs)).not.toMatch(/right-token|guess-/);
    } finally {
      await service.stop();
    }
  });

  it('runs on the in-memory backplane without Redis, on loopback, and exits 0 on SIGINT', async () => {
    const service = spawnService(MAIN, { HYDRA_REDIS_URL: '', HYDRA_INGEST_TOKEN: '', HYDRA_PUBLISHER_PORT: '0' });
    try {
      const line = await service.waitForLog((l) => l.msg === 'publisher listening');
      expect(line).toMatchObject({ backplane: 'memory', host: '127.0.0.1', authenticated: false });
      const reply = await httpRequest(Number(line['port']), {
        method: 'POST',
        path: '/v1/events',
        body: '{"scope":"aircraft","data":{"id":"abc"}}',
      });
      expect(reply.status).toBe(200);
      service.kill('SIGINT');
      expect(await service.exited).toBe(0);
    } finally {
      await service.stop();
    }
  });

  it('with HYDRA_DEMO_FEED publishes events of every scope on Redis, seeded by HYDRA_DEMO_SEED', async () => {
    // Read back through the backplane, as a gateway would: subscribed before the publisher starts.
    const reader = new RedisBackplane({ url: redis.url, retention: parseRetention(undefined) });
    const seen = new Map<Scope, number>();
    const aircraftIds: string[] = [];
    let notify = () => {};
    const handler: BusHandler = {
      onEvent: (scope, _seq, frame) => {
        seen.set(scope, (seen.get(scope) ?? 0) + 1);
        if (scope === 'aircraft') aircraftIds.push(String(JSON.parse(frame.toString()).data.id));
        notify();
      },
      onKeyRevoked: () => {},
      onSubscribed: () => {},
    };
    const subscription = await reader.bus.subscribe(handler);
    const service = spawnService(MAIN, {
      HYDRA_REDIS_URL: redis.url,
      HYDRA_INGEST_TOKEN: 'demo-token',
      HYDRA_PUBLISHER_PORT: '0',
      HYDRA_DEMO_FEED: 'true',
      HYDRA_DEMO_SEED: '42',
    });
    try {
      expect(await service.waitForLog((l) => l.msg === 'demo feed running')).toMatchObject({ seed: 42 });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`not every scope within 20 s: ${JSON.stringify(Object.fromEntries(seen))}`)),
          20_000,
        );
        notify = () => {
          if (SCOPES.every((scope) => seen.has(scope))) {
            clearTimeout(timer);
            resolve();
          }
        };
        notify();
      });
      // The seed's world: its first aircraft reports are those of a DemoWorld with seed 42.
      const expected = new DemoWorld({ seed: 42 })
        .tick(DEFAULT_DEMO_RATES.aircraftUpdateMs)
        .filter((e) => e.scope === 'aircraft')
        .map((e) => String((e.data as { id: unknown }).id));
      expect(aircraftIds.slice(0, 10)).toEqual(expected.slice(0, 10));
      // The entity scopes' snapshots hold the simulated world.
      expect((await reader.snapshots.read('aircraft')).items.length).toBeGreaterThan(0);
      expect((await reader.snapshots.read('vessels')).items.length).toBeGreaterThan(0);
      service.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    } finally {
      await service.stop();
      await subscription.close();
      await reader.close();
    }
  });

  it('refuses to start on Redis without HYDRA_INGEST_TOKEN, naming the variable', async () => {
    const service = spawnService(MAIN, {
      HYDRA_REDIS_URL: redis.url,
      HYDRA_INGEST_TOKEN: '',
      HYDRA_PUBLISHER_PORT: '0',
    });
    expect(await service.exited).toBe(1);
    expect(service.stderr()).toMatch(/HYDRA_INGEST_TOKEN is required/);
  });
});
