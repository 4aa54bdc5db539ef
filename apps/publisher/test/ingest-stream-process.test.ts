import { redisKeys } from '@hydra/backplane';
import { spawnService, startRedis, type TestRedis } from '@hydra/test-support';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, httpRequest } from './http-client.js';
import { openStream } from './ndjson-stream.js';

// Runs the built publisher (`pnpm test` builds first): `node apps/publisher/dist/main.js`.
const MAIN = 'apps/publisher/dist/main.js';
const TOKEN = 'stream-drain-token';

let redis: TestRedis;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedis();
  admin = redis.client();
});

afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

const signal = (n: number) => JSON.stringify({ scope: 'signals', data: { n } });

async function linesInFlight(port: number): Promise<number> {
  const text = (await httpRequest(port, { path: '/metrics' })).text;
  return Number(/^hydra_ingest_stream_lines_in_flight (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

describe('publisher process: a stream on SIGTERM', () => {
  it('stops reading, acknowledges every line it had read once Redis stores it, ends server_closing, and exits 0', async () => {
    const service = spawnService(MAIN, {
      HYDRA_REDIS_URL: redis.url,
      HYDRA_INGEST_TOKEN: TOKEN,
      HYDRA_PUBLISHER_PORT: '0',
    });
    let unpaused = true;
    try {
      const port = Number((await service.waitForLog((l) => l.msg === 'publisher listening'))['port']);
      await expect.poll(async () => (await httpRequest(port, { path: '/readyz' })).status).toBe(200);
      const client = openStream(port, { headers: bearer(TOKEN) });
      expect((await client.response).status).toBe(200);
      await client.writeLines([signal(1), signal(2), signal(3)]);
      await client.untilAcks(3);

      // Lines 4 and 5 are read but cannot be stored yet; a sixth is cut short.
      await admin.call('CLIENT', 'PAUSE', '20000', 'WRITE');
      unpaused = false;
      client.write(`${signal(4)}\n${signal(5)}\n{"scope":"signals","data":{"n":6`);
      await expect.poll(() => linesInFlight(port), { timeout: 10_000 }).toBe(2);
      service.kill('SIGTERM');
      await service.waitForLog((l) => l.msg === 'shutting down');
      expect(client.acks).toHaveLength(3);
      await admin.call('CLIENT', 'UNPAUSE');
      unpaused = true;

      const end = await client.ended();
      expect(client.acks.map((a) => [a.line, a.status, a.seq])).toEqual([
        [1, 200, 1],
        [2, 200, 2],
        [3, 200, 3],
        [4, 200, 4],
        [5, 200, 5],
      ]);
      expect(end).toMatchObject({ end: 'server_closing', lines: 5, accepted: 5, failed: 0 });
      await client.closed;
      expect(await service.exited).toBe(0);
      expect(Number(await admin.get(redisKeys.scopeSeq('signals')))).toBe(5);
      expect(JSON.stringify(service.logs)).not.toContain(TOKEN);
    } finally {
      if (!unpaused) await admin.call('CLIENT', 'UNPAUSE');
      await service.stop();
    }
  });
});
