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
