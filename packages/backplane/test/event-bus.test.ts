import { startRedis, type TestRedis } from '@hydra/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BusDrop,
  MemoryBackplane,
  parseRetention,
  RedisBackplane,
  RedisEventBus,
  RedisSnapshotStore,
  redisChannels,
} from '../src/index.js';
import { eventBusContract, Recorder, waitFor } from './event-bus.contract.js';

let testRedis: TestRedis;
let admin: Redis;

beforeAll(async () => {
  testRedis = await startRedis();
  admin = quiet(testRedis.client());
});

afterAll(async () => {
  await testRedis?.stop();
});

/** Connection errors are expected in the restart test; status and rejections are what is asserted. */
function quiet(client: Redis): Redis {
  client.on('error', () => {});
  return client;
}

/** Clients as a gateway would have them: fail fast while down, reconnect quickly. */
function newClient(): Redis {
  return quiet(new Redis(testRedis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 }));
}

// Both backends as their Backplane wires them (revocation: key store → bus), so the contract runs unchanged.
eventBusContract('redis', async (retention, options) => {
  await admin.flushall();
  const backplane = new RedisBackplane({ url: testRedis.url, retention, ...options });
  return {
    bus: backplane.bus,
    snapshots: backplane.snapshots,
    keys: backplane.keys,
    close: () => backplane.close(),
  };
});

eventBusContract('memory', async (retention, options) => {
  const backplane = new MemoryBackplane({ retention, ...options });
  return {
    bus: backplane.bus,
    snapshots: backplane.snapshots,
    keys: backplane.keys,
    close: () => backplane.close(),
  };
});

describe('MemoryEventBus', () => {
  it('tells onDrop of a handler exception and still delivers to the other handlers', async () => {
    const drops: BusDrop[] = [];
    const backplane = new MemoryBackplane({ retention: parseRetention(undefined), onBusDrop: (d) => drops.push(d) });
    const recorder = new Recorder();
    await backplane.bus.subscribe({
      onEvent: () => {
        throw new Error('bug');
      },
      onKeyRevoked: () => {},
      onSubscribed: () => {},
    });
    await backplane.bus.subscribe(recorder);
    await backplane.bus.publish([{ scope: 'signals', data: { n: 1 } }]);
    await waitFor(() => recorder.events.length === 1, 5_000, 'the event');
    expect(drops).toEqual([
      expect.objectContaining({
        reason: 'handler_error',
        channel: 'events',
        scope: 'signals',
        error: expect.any(Error),
      }),
    ]);
    await backplane.close();
  });
});

describe('RedisEventBus on Redis specifically', () => {
  const clients: Redis[] = [];
  const retention = parseRetention(undefined);

  function setup(policy = retention) {
    const redis = newClient();
    const subscriber = newClient();
    clients.push(redis, subscriber);
    return {
      redis,
      subscriber,
      bus: new RedisEventBus({ redis, subscriber, retention: policy }),
      snapshots: new RedisSnapshotStore({ redis, retention: policy }),
    };
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
    await admin.flushall();
  });

  it('drops malformed control and event messages without throwing, and counts them', async () => {
    const { bus } = setup();
    const recorder = new Recorder();
    const subscription = await bus.subscribe(recorder);
    await admin.publish(redisChannels.control(), 'not json');
    await admin.publish(redisChannels.control(), '{"type":"key-revoked"}');
    await admin.publish(redisChannels.control(), '{"type":"key-revoked","keyId":""}');
    await admin.publish(redisChannels.control(), '[1,2]');
    await admin.publish(redisChannels.scopeEvents('signals'), 'garbage');
    await admin.publish(redisChannels.control(), '{"type":"key-revoked","keyId":"k9"}');
    await waitFor(() => recorder.revoked.length === 1, 5_000, 'the valid notice');
    expect(recorder.revoked).toEqual(['k9']);
    expect(recorder.events).toEqual([]);
    expect(bus.stats.droppedMessages).toBe(5);
    await subscription.close();
  });

  it('tells onDrop of each malformed message and each handler exception (no content), and keeps delivering', async () => {
    const drops: BusDrop[] = [];
    const redis = newClient();
    const subscriber = newClient();
    clients.push(redis, subscriber);
    const bus = new RedisEventBus({ redis, subscriber, retention, onDrop: (drop) => drops.push(drop) });
    const recorder = new Recorder();
    await bus.subscribe(recorder);
    // A handler that throws on every message, beside one that works (it must still get everything).
    await bus.subscribe({
      onEvent: () => {
        throw new Error('event handler bug');
      },
      onKeyRevoked: () => {
        throw new Error('revocation handler bug');
      },
      onSubscribed: () => {},
    });
    await admin.publish(redisChannels.scopeEvents('alerts'), 'garbage-with-no-seq');
    await admin.publish(redisChannels.control(), 'not json');
    await admin.publish(redisChannels.control(), '{"type":"key-revoked","keyId":"k1"}');
    await bus.publish([{ scope: 'alerts', data: { n: 1 } }]);
    await waitFor(() => recorder.events.length === 1 && drops.length === 4, 5_000, 'the drops and the event');
    expect(recorder.revoked).toEqual(['k1']);
    expect(drops.map(({ error, ...d }) => ({ ...d, error: (error as Error | undefined)?.message }))).toEqual([
      { reason: 'malformed', channel: 'events', scope: 'alerts', bytes: 19, error: undefined },
      { reason: 'malformed', channel: 'control', bytes: 8, error: undefined },
      { reason: 'handler_error', channel: 'control', bytes: 35, error: 'revocation handler bug' },
      {
        reason: 'handler_error',
        channel: 'events',
        scope: 'alerts',
        bytes: recorder.events[0]?.frame.length,
        error: 'event handler bug',
      },
    ]);
    expect(bus.stats).toEqual({ droppedMessages: 2, handlerErrors: 2, silentResubscribes: 0 });
  });

  it('close() removes only its listeners and channels; injected clients stay open', async () => {
    const { bus, subscriber } = setup();
    const baseline = subscriber.listenerCount('messageBuffer');
    const readyBaseline = subscriber.listenerCount('ready');
    const a = await bus.subscribe(new Recorder());
    const b = await bus.subscribe(new Recorder());
    expect(subscriber.listenerCount('messageBuffer')).toBe(baseline + 1);
    await a.close();
    const numsub = (await admin.pubsub('NUMSUB', redisChannels.scopeEvents('aircraft'))) as [string, number];
    expect(numsub[1]).toBe(1);
    await b.close();
    expect(subscriber.listenerCount('messageBuffer')).toBe(baseline);
    expect(subscriber.listenerCount('ready')).toBe(readyBaseline);
    const after = (await admin.pubsub('NUMSUB', redisChannels.control())) as [string, number];
    expect(after[1]).toBe(0);
    expect(subscriber.status).toBe('ready');
    expect(await subscriber.ping()).toBe('PONG');
  });

  it('keeps working after the script cache is flushed', async () => {
    const { bus, snapshots } = setup();
    await bus.publish([{ scope: 'alerts', data: { n: 1 } }]);
    await admin.script('FLUSH');
    await bus.publish([{ scope: 'alerts', data: { n: 2 } }]);
    expect((await snapshots.read('alerts')).items).toEqual(['{"n":1}', '{"n":2}']);
  });

  it.runIf(process.env.HYDRA_TEST_REDIS !== 'container')(
    'rejects publish while Redis is down; fires onSubscribed again once resubscribed after a restart',
    async () => {
      const { bus, snapshots } = setup();
      const recorder = new Recorder();
      await bus.subscribe(recorder);
      expect(recorder.subscribed).toBe(1);
      await bus.publish([{ scope: 'signals', data: { n: 1 } }]);
      await waitFor(() => recorder.events.length === 1, 5_000, 'first frame');

      await testRedis.kill();
      await expect(bus.publish([{ scope: 'signals', data: { n: 2 } }])).rejects.toThrow();
      await expect(snapshots.read('signals')).rejects.toThrow();
      expect(recorder.subscribed).toBe(1);

      await testRedis.restart();
      await waitFor(() => recorder.subscribed === 2, 10_000, 'onSubscribed after restart');
      // Non-persistent Redis restarted empty: seq starts over, and the
      // resubscription is live (and publish.lua reloaded) by now.
      const [published] = await bus.publish([{ scope: 'signals', data: { n: 3 } }]);
      expect(published?.seq).toBe(1);
      await waitFor(() => recorder.events.length === 2, 5_000, 'frame after restart');
      expect(JSON.parse(recorder.events[1]?.frame.toString() ?? 'null').data).toEqual({ n: 3 });
      expect(recorder.subscribed).toBe(2);
      admin.disconnect();
      admin = quiet(testRedis.client());
    },
  );
});
