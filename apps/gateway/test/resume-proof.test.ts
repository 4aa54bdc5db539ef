import { redisKeys } from '@hydra/backplane';
import { type GatewayProcess, ScopeTracker, type StreamClient, StreamFixture, withKey } from '@hydra/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from './fault-helpers.js';

/**
 * Resume positions with their proof (`resume=<scope>:<seq>:<ts>`) across a
 * Redis that lost its last events and assigned their seqs anew (a failover
 * to a lagging replica, a restart from an fsync-everysec AOF): the client
 * processed events the stream no longer has, so replaying "the events after
 * its seq" would hand it other events under the same numbers. A proven
 * position gets `resync` (stream_reset) and a fresh snapshot instead, on a
 * gateway that ran through the loss and on one started after it.
 */
describe('resume with a proven position after Redis lost events', () => {
  let f: StreamFixture;
  let redis: Redis;
  let through: GatewayProcess;

  beforeAll(async () => {
    f = await StreamFixture.start();
    redis = new Redis(f.redis.url);
    through = await f.gateway();
  });
  afterAll(async () => {
    redis?.disconnect();
    await f?.stop();
  });

  /** Redis "forgets" the signals after `keep`, as a replica that had not received them would. */
  async function loseSignalsAfter(keep: number, last: number): Promise<void> {
    const lost = Array.from({ length: last - keep }, (_, i) => `${keep + 1 + i}-0`);
    await redis.xdel(redisKeys.scopeHistory('signals'), ...lost);
    const recent = await redis.zrange(redisKeys.logRecent('signals'), 0, -1);
    const lostMembers = recent.filter((m) => Number(m.slice(0, m.indexOf(':'))) > keep);
    if (lostMembers.length > 0) await redis.zrem(redisKeys.logRecent('signals'), ...lostMembers);
    await redis.set(redisKeys.scopeSeq('signals'), String(keep));
  }

  async function publishSignals(count: number, label: string): Promise<number> {
    let seq = 0;
    for (let i = 0; i < count; i++) seq = await f.publish('signals', { kind: 'rf', label: `${label}${i}` });
    return seq;
  }

  /** A client that processed every signal up to the current head: its tracker holds the proven position. */
  async function clientAtHead(k: { key: string }, head: number): Promise<ScopeTracker> {
    const c = f.client(withKey(through.url, k.key));
    await c.waitFor((m) => m.type === 'snapshot' && (m.data as { seq: number }).seq === head);
    const tracker = new ScopeTracker();
    for (const m of c.messages) tracker.apply(m);
    await c.close();
    return tracker;
  }

  async function expectStreamReset(c: StreamClient, newHead: number): Promise<void> {
    const [snapshot] = await c.waitFor((m) => m.type === 'snapshot');
    const resync = c.messages.findIndex((m) => m.type === 'resync');
    expect(c.messages[resync]?.data).toEqual({ scope: 'signals', reason: 'stream_reset' });
    expect(c.messages.indexOf(snapshot as never)).toBeGreaterThan(resync);
    // No event of the new sequence was passed off as the continuation of the old one.
    expect(c.messages.slice(0, resync).filter((m) => m.type === 'signals')).toEqual([]);
    expect((snapshot?.data as { seq: number }).seq).toBe(newHead);
    const live = await f.publish('signals', { kind: 'rf', label: 'live' });
    await c.waitFor((m) => m.type === 'signals' && m.seq === live);
  }

  it('a snapshot carries the ts of the event at its seq, and a proven resume continues exactly', async () => {
    const k = await f.key(['signals']);
    const head = await publishSignals(5, 'p');
    const tracker = await clientAtHead(k, head);
    const entry = await redis.xrange(redisKeys.scopeHistory('signals'), `${head}-0`, `${head}-0`);
    const frameTs = JSON.parse(entry[0]?.[1][1] as string).ts as number;
    expect(tracker.lastTs.get('signals')).toBe(frameTs);
    expect(tracker.resumeParam()).toBe(`signals:${head}:${frameTs}`);

    const missed = await publishSignals(3, 'm');
    const later = await f.gateway();
    const c = f.client(withKey(later.url, k.key, `&resume=${tracker.resumeParam()}`));
    await c.waitFor((m) => m.type === 'signals' && m.seq === missed);
    expect(c.ofType('resync')).toEqual([]);
    expect(c.ofType('signals').map((m) => m.seq)).toEqual([head + 1, head + 2, head + 3]);
    await c.close();
    await later.stop();
  });

  it("proves a position from the gateway itself, without a history read: its ring, or a fresh start's snapshot", async () => {
    const k = await f.key(['signals']);
    const head = await publishSignals(3, 'h');
    const tracker = await clientAtHead(k, head);
    const fresh = await f.gateway(); // primed by a snapshot at `head`: no frame, but the snapshot's ts
    const historyReads = `hydra_redis_command_duration_seconds_count{op="history"}`;
    const readsBefore = (await metricValue(fresh, historyReads)) || 0;
    for (const gw of [fresh, through]) {
      const c = f.client(withKey(gw.url, k.key, `&resume=${tracker.resumeParam()}`));
      await c.waitFor((m) => m.type === 'connected');
      const live = await f.publish('signals', { kind: 'rf', label: `live-${gw.port}` });
      await c.waitFor((m) => m.type === 'signals' && m.seq === live);
      expect(c.ofType('resync')).toEqual([]);
      expect(c.ofType('signals').map((m) => m.seq)).toEqual([live]);
      if (gw === fresh) {
        expect((await metricValue(fresh, historyReads)) || 0).toBe(readsBefore);
        tracker.apply(c.ofType('signals')[0] as never); // the position `through` then proves from its ring
      }
      await c.close();
    }
    await fresh.stop();
  });

  it('resyncs (stream_reset) a proven position whose seq now holds another event, on either gateway', async () => {
    const k = await f.key(['signals']);
    const before = await publishSignals(10, 'a');
    const tracker = await clientAtHead(k, before);
    await loseSignalsAfter(before - 4, before);
    const newHead = await publishSignals(8, 'b'); // reassigns the lost seqs and passes the client's position
    expect(newHead).toBe(before + 4);
    const after = await f.gateway(); // started after the loss: knows only the new sequence

    // One after the other: each check ends with a live event, which moves the head.
    const onThrough = f.client(withKey(through.url, k.key, `&resume=${tracker.resumeParam()}`));
    await expectStreamReset(onThrough, newHead);
    const onAfter = f.client(withKey(after.url, k.key, `&resume=${tracker.resumeParam()}`));
    await expectStreamReset(onAfter, newHead + 1);
    await after.stop();
  });

  it('resyncs a proven position ahead of a stream that lost events; an unproven one stays a 4002 error', async () => {
    const k = await f.key(['signals']);
    const before = await publishSignals(6, 'c');
    const tracker = await clientAtHead(k, before);
    await loseSignalsAfter(before - 3, before);
    const after = await f.gateway();

    const proven = f.client(withKey(after.url, k.key, `&resume=${tracker.resumeParam()}`));
    await expectStreamReset(proven, before - 3);
    const unproven = f.client(withKey(after.url, k.key, `&resume=signals:${before}`));
    const closed = await unproven.closed;
    expect(closed.code).toBe(4002);
    expect(unproven.ofType('error')[0]?.data).toMatchObject({ code: 'bad_request' });
    await after.stop();
  });
});
