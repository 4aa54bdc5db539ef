import { startRedis, type TestRedis } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backplane, createBackplane, parseRetention } from '../src/index.js';
import { Recorder, waitFor } from './event-bus.contract.js';

const retention = parseRetention(undefined);

/** What both backplane kinds must do end to end with their real parts wired together. */
async function exerciseBackplane(backplane: Backplane): Promise<void> {
  const recorder = new Recorder();
  const subscription = await backplane.bus.subscribe(recorder);
  expect(recorder.subscribed).toBe(1);

  const [published] = await backplane.bus.publish([{ scope: 'vessels', data: { id: 'v1', name: 'Ever Given' } }]);
  expect(published?.seq).toBe(1);
  expect(await backplane.snapshots.read('vessels')).toEqual({
    scope: 'vessels',
    seq: 1,
    seqTs: published?.ts,
    items: ['{"id":"v1","name":"Ever Given"}'],
  });
  await waitFor(() => recorder.events.length === 1, 5_000, 'frame');

  // The key store's revocation reaches the bus's subscribers.
  const { record } = await backplane.keys.create({ scopes: ['signals'] });
  await backplane.keys.revoke(record.id);
  await waitFor(() => recorder.revoked.includes(record.id), 5_000, 'revocation notice');

  const limiter = backplane.createLimiter({ nodeId: 'node-a', maxPerIp: 1, leaseMs: 30_000 });
  expect((await limiter.acquire('10.0.0.1')).granted).toBe(true);
  expect((await limiter.acquire('10.0.0.1')).granted).toBe(false);
  await limiter.releaseAll();

  await subscription.close();
}

describe('createBackplane memory', () => {
  it('wires bus, snapshots, keys and limiters on one in-memory state', async () => {
    const backplane = createBackplane({ kind: 'memory', retention });
    expect(backplane.kind).toBe('memory');
    expect(backplane.isHealthy()).toBe(true);
    await exerciseBackplane(backplane);
    await backplane.close();
    await backplane.close();
  });
});

describe('createBackplane redis', () => {
  let testRedis: TestRedis;

  beforeAll(async () => {
    testRedis = await startRedis();
  });

  afterAll(async () => {
    await testRedis?.stop();
  });

  it('wires bus, snapshots, keys and limiters on Redis and closes its own connections', async () => {
    const backplane = createBackplane({ kind: 'redis', url: testRedis.url, retention });
    expect(backplane.kind).toBe('redis');
    await waitFor(() => backplane.isHealthy(), 5_000, 'healthy');
    await exerciseBackplane(backplane);
    await backplane.close();
    await backplane.close();
    expect(backplane.isHealthy()).toBe(false);
  });

  it.runIf(process.env.HYDRA_TEST_REDIS !== 'container')(
    'reports unhealthy while Redis is down, recovers by itself, and closes without hanging while down',
    async () => {
      const backplane = createBackplane({ kind: 'redis', url: testRedis.url, retention });
      const recorder = new Recorder();
      await backplane.bus.subscribe(recorder);
      await waitFor(() => backplane.isHealthy(), 5_000, 'healthy');

      await testRedis.kill();
      await waitFor(() => !backplane.isHealthy(), 5_000, 'unhealthy');
      const started = Date.now();
      await expect(backplane.bus.publish([{ scope: 'signals', data: { n: 1 } }])).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5_000);

      await testRedis.restart();
      await waitFor(() => backplane.isHealthy() && recorder.subscribed === 2, 10_000, 'recovered');
      await backplane.bus.publish([{ scope: 'signals', data: { n: 2 } }]);
      await waitFor(() => recorder.events.length === 1, 5_000, 'frame after recovery');

      await testRedis.kill();
      await waitFor(() => !backplane.isHealthy(), 5_000, 'unhealthy again');
      await backplane.close();
      await testRedis.restart();
    },
  );
});
