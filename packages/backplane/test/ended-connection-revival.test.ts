import { readRedisTarget } from '@hydra/config';
import { startRedisSentinel, type TestRedisSentinel } from '@hydra/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_RETENTION,
  RedisBackplane,
  type RedisConnectionEvents,
  type RedisConnectionRole,
} from '../src/index.js';
import { Recorder, waitFor } from './event-bus.contract.js';

/**
 * A Sentinel failover that ioredis answers by ending a connection for good
 * (ended-connection-revival.ts), made deterministic: the sentinel every
 * connection asks first for the primary is frozen (SIGSTOP: it accepts the
 * question and answers nothing), the primary is killed, so each connection
 * is reconnecting and waits on that sentinel when the other two promote a
 * replica and publish `+switch-master`; each connection's FailoverDetector
 * disconnects its connector on it; then the frozen sentinel is resumed, its
 * answers arrive at disconnected connectors, and ioredis ends all four
 * connections (two backplanes × command and subscriber). One backplane runs
 * without the revival and stays dead; the other comes back by itself.
 */
let sentinel: TestRedisSentinel;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
}, 60_000);

afterAll(async () => {
  await sentinel?.stop();
});

/** ioredis' error when Redis#_connect gives up on a connector that was disconnected (the `end` path). */
const CONNECTION_CLOSED = 'Connection is closed.';
const ROLES: readonly RedisConnectionRole[] = ['command', 'subscriber'];

/** Connection events of one backplane, as `event:connection` entries in order. */
class EventLog implements RedisConnectionEvents {
  readonly entries: string[] = [];
  onReconnecting(connection: RedisConnectionRole): void {
    this.entries.push(`reconnecting:${connection}`);
  }
  onError(connection: RedisConnectionRole, error: Error): void {
    this.entries.push(error.message === CONNECTION_CLOSED ? `ended:${connection}` : `error:${connection}`);
  }
  onRevived(connection: RedisConnectionRole, attempt: number): void {
    this.entries.push(`revived:${connection}:${attempt}`);
  }
  has(prefix: string): boolean {
    return this.entries.some((e) => e.startsWith(prefix));
  }
  since(index: number, prefix: string): string[] {
    return this.entries.slice(index).filter((e) => e.startsWith(prefix));
  }
}

/** How many clients of the sentinel on `port` are subscribed: the failover detectors (one per connection). */
async function subscribedClients(port: number): Promise<number> {
  const admin = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await admin.connect();
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    return list.split('\n').filter((line) => line.trim() !== '').length;
  } finally {
    admin.disconnect();
  }
}

/** Publishes one event after another until `recorder` receives one (pub/sub drops what comes during a resubscribe). */
async function publishUntilReceived(backplane: RedisBackplane, recorder: Recorder, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const published = await backplane.bus.publish([{ scope: 'signals', data: { after: 'revival' } }]).catch(() => []);
    const seq = published[0]?.seq;
    if (seq === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50)); // still reconnecting: publish rejects at once
      continue;
    }
    const received = await waitFor(() => recorder.seqs('signals').includes(seq), 1_000, 'delivery').then(
      () => true,
      () => false,
    );
    if (received) return seq;
  }
  throw new Error(`no event received within ${timeoutMs} ms`);
}

describe('RedisBackplane on Sentinel: a connection ioredis ended by itself (ioredis#1683)', () => {
  it('is revived (publish, subscription and history work again); without the revival it stays ended; close() is not revived', async () => {
    const target = readRedisTarget(sentinel.env)!;
    const [asked, other] = sentinel.sentinelPorts as [number, number];
    const deadLog = new EventLog();
    const liveLog = new EventLog();
    const dead = new RedisBackplane({
      target,
      retention: DEFAULT_RETENTION,
      connectionEvents: deadLog,
      reviveEndedConnections: false,
    });
    // No subscription watchdog: an onSubscribed after the revival then comes from the bus' own 'ready' path.
    const live = new RedisBackplane({
      target,
      retention: DEFAULT_RETENTION,
      connectionEvents: liveLog,
      subscriptionCheckMs: 0,
    });
    const deadRecorder = new Recorder();
    const liveRecorder = new Recorder();
    try {
      await dead.bus.subscribe(deadRecorder);
      await live.bus.subscribe(liveRecorder);
      const [first] = await live.bus.publish([{ scope: 'signals', data: { before: 'failover' } }]);
      await waitFor(
        () => deadRecorder.seqs('signals').includes(first!.seq) && liveRecorder.seqs('signals').includes(first!.seq),
        5_000,
        'the first event on both backplanes',
      );
      // Every connection's FailoverDetector is subscribed to +switch-master on each sentinel once it is connected.
      await waitFor(async () => (await subscribedClients(other)) === 4, 10_000, 'four failover detectors');

      const resume = sentinel.freeze(asked);
      try {
        await sentinel.killPrimary({ watchSentinel: other });
        // On +switch-master each detector disconnected its connector (and dropped its own sentinel clients).
        await waitFor(async () => (await subscribedClients(other)) === 0, 10_000, 'the detectors fired');
        expect(deadLog.has('ended:') || liveLog.has('ended:')).toBe(false);
      } finally {
        resume();
      }
      for (const role of ROLES) {
        await waitFor(() => deadLog.has(`ended:${role}`), 10_000, `the dead backplane's ${role} connection ended`);
        await waitFor(() => liveLog.has(`ended:${role}`), 10_000, `the live backplane's ${role} connection ended`);
      }
      const endedAt = performance.now();

      // With the revival: both connections connect again and the backplane works as before.
      await waitFor(() => liveRecorder.subscribed >= 2, 20_000, 'onSubscribed after the revival');
      const seq = await publishUntilReceived(live, liveRecorder, 20_000);
      const history = await live.history.readAfter('signals', 0, 100);
      if (history.kind !== 'events') throw new Error(`history read after the revival: ${history.kind}`);
      expect(history.events.map((e) => e.seq)).toContain(seq);
      await waitFor(() => live.isHealthy(), 10_000, 'the revived backplane healthy');
      for (const role of ROLES) expect(liveLog.since(0, `revived:${role}:`)).not.toEqual([]);
      console.info(
        `revived within ${Math.round(performance.now() - endedAt)} ms of the end: ${liveLog.since(0, 'revived:')}`,
      );

      // Without it: ended for good. Nothing announces "still nothing", so it is watched for longer than ioredis'
      // longest reconnect delay (2 s) from the end on.
      const deadEntries = deadLog.entries.length;
      const watchUntil = endedAt + 3_000;
      while (performance.now() < watchUntil) {
        expect(dead.isHealthy()).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(deadLog.since(deadEntries, 'reconnecting:')).toEqual([]);
      await expect(dead.bus.publish([{ scope: 'signals', data: { dead: true } }])).rejects.toThrow(CONNECTION_CLOSED);
      await expect(dead.history.readAfter('signals', 0, 1)).rejects.toThrow(CONNECTION_CLOSED);
      expect(deadRecorder.subscribed).toBe(1);
      expect(deadRecorder.seqs('signals')).toEqual([first!.seq]);

      // close() ends both connections: that end is not revived. A revival would come 50 ms after it (its first
      // delay); watched ten times that.
      const liveEntries = liveLog.entries.length;
      await live.close();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(liveLog.since(liveEntries, 'revived:')).toEqual([]);
      expect(liveLog.since(liveEntries, 'reconnecting:')).toEqual([]);
      expect(live.isHealthy()).toBe(false);
    } finally {
      await Promise.all([dead.close(), live.close()]);
    }
  }, 90_000);
});
