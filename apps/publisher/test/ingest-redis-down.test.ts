import { type Backplane, createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import { startRedis, type TestRedis } from '@hydra/test-support';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestServer, type IngestServer } from '../src/ingest-server.js';
import { createLogger } from '../src/logger.js';
import { bearer, httpRequest } from './http-client.js';

// Killing and restarting Redis needs a local redis-server (not a container).
process.env.HYDRA_TEST_REDIS ??= 'local';

const TOKEN = 'down-test-token';
let redis: TestRedis;
let backplane: Backplane;
let ingest: IngestServer;
let port: number;

beforeAll(async () => {
  redis = await startRedis();
  backplane = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
  ingest = createIngestServer({
    backplane,
    config: { ingestToken: TOKEN, maxBodyBytes: 1 << 20 },
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

const publishOne = (id: string) =>
  httpRequest(port, {
    method: 'POST',
    path: '/v1/events',
    headers: { ...bearer(TOKEN), 'content-type': 'application/json' },
    body: JSON.stringify({ scope: 'vessels', data: { id } }),
  });

describe('when Redis goes away', () => {
  it('answers 503 (never 200), fails /readyz, keeps /healthz, and recovers after a restart', async () => {
    await expect.poll(() => backplane.isHealthy()).toBe(true);
    expect((await publishOne('before')).status).toBe(200);

    await redis.kill();
    const down = await publishOne('during');
    expect(down.status).toBe(503);
    expect(down.json()).toEqual({ error: 'backplane unavailable' });
    expect((await httpRequest(port, { path: '/readyz' })).status).toBe(503);
    expect((await httpRequest(port, { path: '/healthz' })).status).toBe(200);

    await redis.restart();
    await expect.poll(() => backplane.isHealthy(), { timeout: 10_000 }).toBe(true);
    expect((await httpRequest(port, { path: '/readyz' })).status).toBe(200);
    expect((await publishOne('after')).status).toBe(200);
  });
});
