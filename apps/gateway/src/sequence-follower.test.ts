import type { HistoryRead, HistoryStore } from '@hydra/backplane';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics.js';
import { SequenceFollower, type SequenceListener } from './sequence-follower.js';

/**
 * SequenceFollower alone: no session, no socket. A backplane whose history
 * answers from the frames "published", and a listener that records what the
 * follower tells it.
 */

/** The frame of event `seq` of the backplane's `run`-th sequence (a restarted Redis publishes other frames). */
const frameOf = (seq: number, run = 0): Buffer =>
  Buffer.from(`{"type":"signals","seq":${seq},"ts":${1000 * (run + 1) + seq},"data":{"n":${seq},"run":${run}}}`);

/** Lets every already-settled in-memory promise chain run to its end (no timer, no I/O is involved). */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function harness(options: { ringCapacity?: number; failHistory?: boolean } = {}) {
  let run = 0;
  let backplaneSeq = 0;
  const published = new Map<number, Buffer>();
  let historyReads = 0;
  const history: HistoryStore = {
    readAfter: async (_scope, after, max, positionTs = 0): Promise<HistoryRead> => {
      historyReads++;
      if (options.failHistory) throw new Error('Connection is closed.');
      if (after > backplaneSeq) return { kind: 'future', lastSeq: backplaneSeq };
      if (positionTs > 0 && after > 0) {
        // The proof of a position: the event held at `after` must carry that ts (history.lua).
        const held = published.get(after);
        if (!held) return { kind: 'gone', oldestSeq: after + 1, lastSeq: backplaneSeq };
        if ((JSON.parse(held.toString()) as { ts: number }).ts !== positionTs) {
          return { kind: 'reset', lastSeq: backplaneSeq };
        }
      }
      const events = [];
      for (let s = after + 1; s <= Math.min(backplaneSeq, after + max); s++) {
        const frame = published.get(s);
        if (!frame) return { kind: 'gone', oldestSeq: s + 1, lastSeq: backplaneSeq };
        events.push({ seq: s, frame });
      }
      return { kind: 'events', events, lastSeq: backplaneSeq };
    },
  };
  /** What the listener heard, in order: `applied <seq>` or `restarted <reason>`. */
  const heard: string[] = [];
  const listener: SequenceListener & { throwOnRestart: number } = {
    throwOnRestart: 0,
    applied: (seq) => heard.push(`applied ${seq}`),
    restarted(reason) {
      heard.push(`restarted ${reason}`);
      if (this.throwOnRestart > 0) {
        this.throwOnRestart--;
        throw new Error('registry failure');
      }
    },
  };
  let invalidations = 0;
  const metrics = new GatewayMetrics();
  const follower = new SequenceFollower(
    'signals',
    {
      history,
      snapshots: { invalidate: () => invalidations++ },
      metrics,
      log: pino({ level: 'silent' }),
      ringCapacity: options.ringCapacity,
    },
    listener,
  );
  return {
    follower,
    metrics,
    heard,
    listener,
    get invalidations() {
      return invalidations;
    },
    get historyReads() {
      return historyReads;
    },
    get backplaneSeq() {
      return backplaneSeq;
    },
    /** Publishes on the backplane (history) and returns the seq, not yet delivered to the gateway. */
    publish(): number {
      const seq = ++backplaneSeq;
      published.set(seq, frameOf(seq, run));
      return seq;
    },
    /** Delivers an event published earlier to the follower, as the subscription does. */
    deliver(seq: number, publishedTs = 0): void {
      const frame = published.get(seq);
      if (!frame) throw new Error(`seq ${seq} was not published`);
      follower.onEvent(seq, frame, publishedTs);
    },
    publishLive(): number {
      const seq = this.publish();
      this.deliver(seq);
      return seq;
    },
    /** The history no longer holds the events up to `seq` (trimmed: too many, too old). */
    trimHistory(seq: number): void {
      for (let s = 1; s <= seq; s++) published.delete(s);
    },
    /**
     * A failover to a replica that had the events up to `seq` only: the rest
     * is lost, and the new primary numbers its events from `seq + 1` again.
     */
    failoverTo(seq: number): void {
      for (let s = seq + 1; s <= backplaneSeq; s++) published.delete(s);
      backplaneSeq = seq;
      run++;
    },
    /** Redis restarted empty: history and seq start again from 0. */
    restartBackplane(): void {
      published.clear();
      backplaneSeq = 0;
      run++;
    },
  };
}

/** A follower primed at 0 that received events 1..n. */
function following(n: number, options: { ringCapacity?: number } = {}) {
  const h = harness(options);
  h.follower.reconcile(0, 0);
  for (let i = 0; i < n; i++) h.publishLive();
  h.heard.length = 0;
  return h;
}

async function gaps(h: ReturnType<typeof harness>): Promise<number> {
  const got = await h.metrics.busGaps.get();
  return got.values.reduce((n, v) => n + v.value, 0);
}

describe('SequenceFollower in order', () => {
  it('applies each next event, holds it in the ring and hands it to the listener', () => {
    const h = following(0);
    h.publishLive();
    h.publish();
    h.deliver(2, 4242);
    expect(h.heard).toEqual(['applied 1', 'applied 2']);
    expect(h.follower.seq).toBe(2);
    expect(h.follower.ts).toBe(4242); // the bus's publish time when given
    expect(h.follower.tsAt(1)).toBe(1001); // else the frame's
    expect(h.follower.ringCovers(0)).toBe(true);
    const held: string[] = [];
    h.follower.forEachAfter(0, (f) => held.push(f.toString()));
    expect(held).toEqual([frameOf(1).toString(), frameOf(2).toString()]);
  });

  it('keeps copies of its frames, never the bus reads they are views into (a quiet scope beside a flood)', () => {
    const h = following(0);
    const reads: Buffer[] = [];
    for (let seq = 1; seq <= 50; seq++) {
      // As the bus hands a frame over: a slice of a 64 KiB socket read full of another scope's events.
      const frame = frameOf(seq);
      const read = Buffer.alloc(64 * 1024, 'x');
      frame.copy(read, 4096);
      reads.push(read);
      h.follower.onEvent(seq, read.subarray(4096, 4096 + frame.length), 0);
    }
    const held: Buffer[] = [];
    h.follower.forEachAfter(0, (f) => held.push(f));
    expect(held.map(String)).toEqual(Array.from({ length: 50 }, (_, i) => frameOf(i + 1).toString()));
    // One slab of the follower's own (frame-arena.ts) instead of 50 reads: 3.2 MiB kept alive for 3 KiB of frames.
    expect(new Set(held.map((f) => f.buffer)).size).toBe(1);
    expect(held.some((f) => reads.some((r) => r.buffer === f.buffer))).toBe(false);
  });

  it('drops an event received before, or covered by the priming snapshot, without restarting', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) h.publish();
    h.follower.reconcile(3, 1003); // primed by a snapshot at 3
    expect(h.follower.seq).toBe(3);
    expect(h.follower.ts).toBe(1003);
    h.deliver(2); // still in flight when the snapshot was read
    h.deliver(3);
    h.publishLive();
    h.deliver(4); // a duplicate
    await flush();
    expect(h.heard).toEqual(['applied 4']);
    expect(await gaps(h)).toBe(0);
    expect(h.follower.epoch).toBe(0);
  });

  it('knows the ts of the events its ring holds, and nothing of those before', () => {
    const h = following(5, { ringCapacity: 2 });
    expect(h.follower.tsAt(5)).toBe(1005);
    expect(h.follower.tsAt(4)).toBe(1004);
    expect(h.follower.tsAt(3)).toBe(0);
    expect(h.follower.ringCovers(3)).toBe(true); // 4 and 5 are held: everything after 3
    expect(h.follower.ringCovers(2)).toBe(false);
    expect(h.follower.ringCovers(6)).toBe(false);
  });
});

describe('SequenceFollower when the sequence restarts under a live subscription', () => {
  it('restarts at an event the ring contradicts, once, and drops the cached snapshot', async () => {
    const h = following(3);
    h.restartBackplane();
    h.publishLive(); // the new sequence's 1: the ring holds another frame at 1
    expect(h.heard).toEqual(['restarted stream_reset']);
    expect(h.follower.seq).toBe(1);
    expect(h.follower.epoch).toBe(1);
    expect(h.invalidations).toBe(1);
    expect(await gaps(h)).toBe(1);
    h.publishLive();
    expect(h.heard).toEqual(['restarted stream_reset', 'applied 2']);
  });

  it('restarts at an event older than the ring', () => {
    const h = following(5, { ringCapacity: 2 });
    h.restartBackplane();
    h.publish();
    h.publish();
    h.deliver(2); // below the ring's first seq (4): one subscription never goes back
    expect(h.heard).toEqual(['restarted stream_reset']);
    expect(h.follower.seq).toBe(2);
  });
});

describe('SequenceFollower after its subscription was interrupted', () => {
  it('restarts when the next seq comes from a lagging replica that numbered past what it received (stream_reset)', async () => {
    const h = following(5);
    h.follower.subscriptionInterrupted(); // the primary died with 4 and 5 unreplicated
    h.failoverTo(3);
    h.publish(); // the new 4 and 5, published before this gateway resubscribed
    h.publish();
    h.publishLive(); // the new 6: exactly the seq after the last one received
    await flush();
    expect(h.heard).toEqual(['restarted stream_reset']);
    expect(h.follower.seq).toBe(6);
    expect(await gaps(h)).toBe(1);
  });

  it('continues when the history proves the next seq follows what it received: one history read, then live again', async () => {
    const h = following(5);
    h.follower.subscriptionInterrupted();
    h.publishLive();
    await flush();
    expect(h.heard).toEqual(['applied 6']);
    expect(h.historyReads).toBe(1);
    h.publishLive();
    expect(h.heard).toEqual(['applied 6', 'applied 7']);
    expect(h.historyReads).toBe(1);
    expect(await gaps(h)).toBe(0);
  });

  it('does not take a proof read before a later interruption for one after it', async () => {
    const h = following(5);
    h.follower.subscriptionInterrupted();
    h.publish();
    h.deliver(6); // its proof (a history read of the old primary) is in flight...
    h.follower.subscriptionInterrupted(); // ...when the subscription drops again: a failover to a replica without 6
    h.failoverTo(5);
    h.publish(); // the new 6, missed while away
    await flush();
    expect(h.heard).toEqual(['applied 6']);
    h.publishLive(); // the new 7: the next seq, not proven by the read before the second interruption
    await flush();
    expect(h.heard).toEqual(['applied 6', 'restarted stream_reset']);
    expect(h.follower.seq).toBe(7);
  });
});

describe('SequenceFollower after a failed proof', () => {
  it('still proves the next event when the subscription was interrupted again while the proof read failed', async () => {
    const options = { failHistory: false };
    const h = harness(options);
    h.follower.reconcile(0, 0);
    for (let i = 0; i < 5; i++) h.publishLive();
    h.heard.length = 0;
    h.follower.subscriptionInterrupted(); // a failover to P2
    options.failHistory = true; // the command connection is down too
    h.publish();
    h.deliver(6); // P2's 6: its proof read fails...
    h.follower.subscriptionInterrupted(); // ...and the subscription drops again: a second promotion, to P3
    await flush();
    expect(h.heard).toEqual(['restarted backplane_gap']); // restarted at P2's 6
    options.failHistory = false;
    h.failoverTo(5); // P3 lacks P2's 6, and numbers its own
    h.publish(); // P3's 6, missed while away
    h.publishLive(); // P3's 7: the next seq after the restart, which must not be taken on its number
    await flush();
    expect(h.heard).toEqual(['restarted backplane_gap', 'restarted stream_reset']);
    expect(h.follower.seq).toBe(7);
  });
});

describe('SequenceFollower gap fill', () => {
  it('fills a gap from a history that holds the frame last received, then applies what arrived meanwhile', async () => {
    const h = following(2);
    for (let i = 0; i < 3; i++) h.publish(); // 3, 4, 5 missed
    h.publish();
    h.deliver(6); // a gap: 3..5 are read from history
    h.publishLive(); // 7, held while the gap is filled
    expect(h.heard).toEqual([]);
    await flush();
    expect(h.heard).toEqual(['applied 3', 'applied 4', 'applied 5', 'applied 6', 'applied 7']);
    expect(h.follower.seq).toBe(7);
    expect(await gaps(h)).toBe(0);
  });

  it('restarts at the first event held when the history is not the one followed (Redis restarted)', async () => {
    const h = following(3);
    h.restartBackplane();
    for (let i = 0; i < 5; i++) h.publish();
    h.deliver(5); // a gap after 3, but the history's 3 is another frame
    await flush();
    expect(h.heard).toEqual(['restarted stream_reset']);
    expect(h.follower.seq).toBe(5);
    expect(h.follower.tsAt(5)).toBe(2005);
  });

  it('restarts when the history cannot be read, with no unhandled rejection', async () => {
    const h = harness({ failHistory: true });
    h.follower.reconcile(0, 0);
    h.publishLive();
    h.publish();
    h.publish();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      h.deliver(3);
      await flush();
      await flush();
      expect(unhandled).toEqual([]);
      expect(h.heard).toEqual(['applied 1', 'restarted backplane_gap']);
      expect(h.follower.seq).toBe(3);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('counts a listener that throws while a gap ends, restarts at the newest event and tells it again', async () => {
    const h = following(3);
    h.restartBackplane();
    for (let i = 0; i < 5; i++) h.publish();
    h.listener.throwOnRestart = 1;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      h.deliver(5);
      await flush();
      await flush();
      expect(unhandled).toEqual([]);
      expect(await h.metrics.errors.get()).toMatchObject({ values: [{ labels: { kind: 'gap_fill' }, value: 1 }] });
      expect(h.heard).toEqual(['restarted stream_reset', 'restarted stream_reset']);
      expect(h.follower.seq).toBe(5);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('SequenceFollower.reconcile', () => {
  it('takes an older seq for an old read when the history still holds the frame last received', async () => {
    const h = following(3);
    h.follower.reconcile(2, 1002); // a snapshot read overtaken by live events 3
    await flush();
    expect(h.heard).toEqual([]);
    expect(h.follower.seq).toBe(3);
    expect(await gaps(h)).toBe(0);
  });

  it('restarts at the backplane seq when the history no longer holds the frame last received', async () => {
    const h = following(3);
    h.restartBackplane();
    h.publish(); // the new Redis is at 1; the subscription was down
    h.follower.reconcile(1, 2001);
    await flush();
    expect(h.heard).toEqual(['restarted stream_reset']);
    expect(h.follower.seq).toBe(1);
    h.publishLive();
    expect(h.heard).toEqual(['restarted stream_reset', 'applied 2']);
  });

  it('fills what was missed while unsubscribed, holding live events that arrive during the read', async () => {
    const h = following(2);
    for (let i = 0; i < 3; i++) h.publish();
    h.follower.reconcile(5, 1005);
    h.publishLive(); // 6 arrives while 3..5 are read
    await flush();
    expect(h.heard).toEqual(['applied 3', 'applied 4', 'applied 5', 'applied 6']);
    expect(h.historyReads).toBe(1);
  });

  it('restarts (stream_reset) when the backplane seq went below a snapshot-only prime', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) h.publish();
    h.follower.reconcile(3, 1003);
    h.restartBackplane();
    h.publish();
    h.follower.reconcile(1, 2001); // one sequence never goes back: this is another
    await flush();
    expect(h.heard).toEqual(['restarted stream_reset']);
    expect(h.follower.seq).toBe(1);
  });

  it('restarts (backplane_gap) when the missed events are no longer in the history: nothing was lost, they aged out', async () => {
    const h = following(2);
    for (let i = 0; i < 4; i++) h.publish();
    h.trimHistory(4);
    h.follower.reconcile(6, 1006);
    await flush();
    expect(h.heard).toEqual(['restarted backplane_gap']);
    expect(h.follower.seq).toBe(6);
  });

  it('fills from a snapshot-only prime when the history proves the snapshot event by its ts', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) h.publish();
    h.follower.reconcile(3, 1003);
    h.publish();
    h.follower.reconcile(4, 1004); // no frame received: the snapshot's ts is the proof
    await flush();
    expect(h.heard).toEqual(['applied 4']);
    expect(await gaps(h)).toBe(0);
  });

  it('restarts (stream_reset) when the history holds another event at the snapshot seq', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) h.publish();
    h.follower.reconcile(3, 1003);
    h.restartBackplane();
    for (let i = 0; i < 5; i++) h.publish();
    h.follower.reconcile(5, 2005); // the new sequence's 3 has another ts
    await flush();
    expect(h.heard).toEqual(['restarted stream_reset']);
    expect(h.follower.seq).toBe(5);
    expect(h.follower.ts).toBe(2005);
  });

  it('restarts, rather than guess, when a seq moved on after a snapshot-only prime with no ts', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) h.publish();
    h.follower.reconcile(3, 0); // the snapshot's event is no longer in the history: no ts
    h.publish();
    h.follower.reconcile(4, 1004); // nothing received, nothing to prove continuity with
    await flush();
    expect(h.heard).toEqual(['restarted backplane_gap']);
    expect(h.follower.seq).toBe(4);
    expect(h.follower.ts).toBe(1004);
  });

  // A failover to a replica that lagged: the subscription came back, the follower restarted at the new
  // primary's seq (stream_reset); a second re-subscription (Sentinel's failover detector reconnects) found the
  // seq moved on, with no frame received since, and resynchronised every client again (backplane_gap).
  it('continues after its own restart at the backplane seq: a later re-prime fills from history, no second restart', async () => {
    const h = following(3);
    h.restartBackplane();
    h.publish();
    h.follower.reconcile(1, 2001);
    await flush();
    expect(h.heard).toEqual(['restarted stream_reset']);
    h.publish();
    h.publish();
    h.follower.reconcile(3, 2003);
    await flush();
    expect(h.heard).toEqual(['restarted stream_reset', 'applied 2', 'applied 3']);
    expect(await gaps(h)).toBe(1);
  });
});

describe('SequenceFollower.distrustReads', () => {
  it('ends the epoch and drops the cached snapshot, keeping the ring and positions', () => {
    const h = following(3);
    h.follower.distrustReads();
    expect(h.follower.epoch).toBe(1);
    expect(h.invalidations).toBe(1);
    expect(h.follower.seq).toBe(3);
    expect(h.follower.tsAt(1)).toBe(1001);
    expect(h.heard).toEqual([]);
  });
});
