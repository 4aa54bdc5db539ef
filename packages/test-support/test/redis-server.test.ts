import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../src/index.js';

describe('startRedis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis({ persist: true });
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('serves commands and survives a graceful restart with persistence', async () => {
    const c = redis.client();
    await c.set('k', 'v');
    expect(await c.get('k')).toBe('v');
    if (!redis.canRestart) return;
    await redis.kill('SIGTERM');
    await redis.restart();
    const c2 = redis.client();
    expect(await c2.get('k')).toBe('v');
  });
});
