import { encodeEventFrame } from '@hydra/protocol';
import { startRedis, type TestRedis } from '@hydra/test-support';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRetention, RedisBackplane, redisKeys } from '../src/index.js';
import { memoryBackplaneFactory, redisBackplaneFactory } from './backplane-fixture.js';
import { entityLifecycleContract } from './entity-lifecycle.contract.js';
import { waitFor } from './event-bus.contract.js';
import { historyContract } from './history.contract.js';

let testRedis: TestRedis;
let admin: Redis;

beforeAll(async () => {
  testRedis = await startRedis();
  admin = testRedis.client();
  admin.on('error', () => {});
});

afterAll(async () => {
  admin?.disconnect();
  await testRedis?.stop();
});

const redisFactory = redisBackplaneFactory(
  () => testRedis,
  () => admin,
);

historyContract('redis', redisFactory);
historyContract('memory', memoryBackplaneFactory);
entityLifecycleContract('redis', redisFactory);
entityLifecycleContract('memory', memoryBackplaneFactory);

describe('history and expiry on Redis specifically', () => {
  async function setup(retention?: string) {
    await admin.flushall();
    return new RedisBackplane({ url: testRedis.url, retention: parseRetention(retention) });
  }

  it('stores each event as stream entry <seq>-0 with field f = the frame', async () => {
    const backplane = await setup();
    const [p] = await backplane.bus.publish([{ scope: 'alerts', data: { n: 1 } }]);
    expect(await admin.xrange(redisKeys.scopeHistory('alerts'), '-', '+')).toEqual([
      ['1-0', ['f', encodeEventFrame('alerts', 1, p!.ts, '{"n":1}')]],
    ]);
    await backplane.close();
  });

  it('trims the stream by length (MAXLEN ~) and by age as it publishes', async () => {
    const backplane = await setup('signals:history=50,cyber:historyAge=200');
    for (let i = 0; i < 10; i++) {
      await backplane.bus.publish(Array.from({ length: 100 }, (_, n) => ({ scope: 'signals' as const, data: { n } })));
    }
    const length = await admin.xlen(redisKeys.scopeHistory('signals'));
    expect(length).toBeGreaterThanOrEqual(50);
    expect(length).toBeLessThanOrEqual(250);
    await backplane.bus.publish(Array.from({ length: 150 }, (_, n) => ({ scope: 'cyber' as const, data: { n } })));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Each publish trims at most 100 aged entries from the head.
    await backplane.bus.publish([{ scope: 'cyber', data: { n: 'fresh' } }]);
    expect(await admin.xlen(redisKeys.scopeHistory('cyber'))).toBe(51);
    await backplane.bus.publish([{ scope: 'cyber', data: { n: 'fresh2' } }]);
    // The two fresh entries and one aged anchor (a reader there can still prove its position).
    expect(await admin.xlen(redisKeys.scopeHistory('cyber'))).toBe(3);
    await backplane.close();
  });

  it('publish no longer prunes expired entities silently; the sweep removes and announces them', async () => {
    const backplane = await setup('aircraft:ttl=200');
    await backplane.bus.publish(
      Array.from({ length: 150 }, (_, i) => ({ scope: 'aircraft' as const, data: { id: `e${i}` } })),
    );
    await waitFor(async () => (await backplane.snapshots.read('aircraft')).items.length === 0, 5_000, 'expiry');
    await backplane.bus.publish([{ scope: 'aircraft', data: { id: 'fresh' } }]);
    expect(await admin.hlen(redisKeys.entityState('aircraft'))).toBe(151);
    expect(await backplane.sweepExpired()).toBe(150);
    expect(await admin.hlen(redisKeys.entityState('aircraft'))).toBe(1);
    expect(await admin.zcard(redisKeys.entityLastSeen('aircraft'))).toBe(1);
    expect(await admin.xlen(redisKeys.scopeHistory('aircraft'))).toBe(301);
    await backplane.close();
  });

  it('keeps history consistent with seq when the seq counter was lost', async () => {
    const backplane = await setup();
    await backplane.bus.publish([1, 2, 3].map((n) => ({ scope: 'signals' as const, data: { n } })));
    await admin.del(redisKeys.scopeSeq('signals'));
    const [p] = await backplane.bus.publish([{ scope: 'signals', data: { n: 'again' } }]);
    expect(p?.seq).toBe(1);
    const read = await backplane.history.readAfter('signals', 0, 10);
    expect(read.kind === 'events' && read.events.map((e) => JSON.parse(e.frame.toString()).data)).toEqual([
      { n: 'again' },
    ]);
    await backplane.close();
  });
});
