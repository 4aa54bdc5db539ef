import type { HistoryRead, HistoryStore } from '@hydra/backplane';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayMetrics } from './metrics.js';
import { PacedSender } from './paced-sender.js';
import { ScopeStream } from './scope-stream.js';
import type { Session, SocketData } from './session.js';
import { testSession } from './session.test-support.js';
import type { SnapshotCache, SnapshotFrame } from './snapshot-cache.js';
import type { TemplatedApp, WebSocket } from './uws.js';

/**
 * ScopeStream on fakes whose every await the test controls: snapshot reads
 * resolve when the test says so, history answers from the frames "published",
 * and a fake uWS app delivers `publish` to the sockets subscribed to the topic.
 */

/** The frame of event `seq` of the backplane's `run`-th sequence (a restarted Redis publishes other frames). */
const frameOf = (seq: number, run = 0): Buffer =>
  Buffer.from(`{"type":"signals","seq":${seq},"ts":0,"data":{"n":${seq},"run":${run}}}`);

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every already-settled in-memory promise chain run to its end (no timer, no I/O is involved). */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

class FakeClient {
  readonly received: string[] = [];
  readonly topics = new Set<string>();
  closedWith: number | null = null;
  readonly session: Session;
  /** Called after the socket subscribed (from inside the stream's synchronous release). */
  onSubscribe: (() => void) | null = null;
  /** Bytes uWS would hold for a client that is not reading (`stalled`): what it is sent piles up. */
  backlog = 0;
  stalled = false;

  constructor(connId: number) {
    this.session = testSession(connId);
    const ws = {
      send: (m: Buffer | string) => {
        this.received.push(m.toString());
        if (this.stalled) this.backlog += m.length;
        return 1;
      },
      getBufferedAmount: () => this.backlog,
      cork: (cb: () => void) => cb(),
      subscribe: (t: string) => {
        this.topics.add(t);
        this.onSubscribe?.();
      },
      unsubscribe: (t: string) => this.topics.delete(t),
      isSubscribed: (t: string) => this.topics.has(t),
      end: (code: number) => {
        this.closedWith = code;
      },
    };
    this.session.ws = ws as unknown as WebSocket<SocketData>;
  }

  /** Closes the socket as uWS does: the session is marked closed, then the gateway forgets it. */
  close(stream: ScopeStream): void {
    this.session.closed = true;
    this.session.ws = null;
    stream.forget(this.session);
  }

  /** The seqs of the live `signals` events received, in order. */
  get liveSeqs(): number[] {
    return this.received.filter((m) => m.startsWith('{"type":"signals"')).map((m) => JSON.parse(m).seq as number);
  }

  get resyncs(): number {
    return this.resyncReasons.length;
  }

  /** The reason of each `resync` received, in order. */
  get resyncReasons(): string[] {
    return this.received
      .filter((m) => m.startsWith('{"type":"resync"'))
      .map((m) => (JSON.parse(m) as { data: { reason: string } }).data.reason);
  }
}

function harness(
  options: {
    ringCapacity?: number;
    sessionsOf?: (all: Session[]) => Iterable<Session>;
    backplaneReconnecting?: () => boolean;
    /** The pacer's budget per client (default: nothing is paced). */
    paceBudget?: number;
    /** Parts of every snapshot (each one frame). */
    snapshotParts?: number;
  } = {},
) {
  const clients: FakeClient[] = [];
  const pacer = new PacedSender(options.paceBudget ?? 1 << 30);
  let run = 0;
  /** What the backplane published (its history), by seq. */
  const published = new Map<number, Buffer>();
  let backplaneSeq = 0;
  const snapshotReads: Deferred<SnapshotFrame>[] = [];
  const parts = options.snapshotParts ?? 1;
  const snapshotAt = (seq: number): SnapshotFrame => ({
    seq,
    frames: Array.from({ length: parts }, (_, i) =>
      Buffer.from(
        `{"type":"snapshot","data":{"scope":"signals","seq":${seq},"part":${i + 1},"parts":${parts},"items":["${'x'.repeat(1000)}"]}}`,
      ),
    ),
    itemCount: parts,
    items: [],
    readAt: performance.now(),
  });
  const read = (): Promise<SnapshotFrame> => {
    const d = deferred<SnapshotFrame>();
    snapshotReads.push(d);
    return d.promise;
  };
  const snapshots = { read, get: read, invalidate: () => undefined } as unknown as SnapshotCache;
  const history: HistoryStore = {
    readAfter: async (_scope, after, max): Promise<HistoryRead> => {
      if (after > backplaneSeq) return { kind: 'future', lastSeq: backplaneSeq };
      const events = [];
      for (let s = after + 1; s <= Math.min(backplaneSeq, after + max); s++) {
        const frame = published.get(s);
        if (!frame) return { kind: 'gone', oldestSeq: s + 1, lastSeq: backplaneSeq };
        events.push({ seq: s, frame });
      }
      return { kind: 'events', events, lastSeq: backplaneSeq };
    },
  };
  const app = {
    numSubscribers: (t: string) => clients.filter((c) => c.topics.has(t)).length,
    publish: (t: string, frame: Buffer) => {
      for (const c of clients) if (c.topics.has(t)) c.received.push(frame.toString());
      return true;
    },
  } as unknown as TemplatedApp;
  const metrics = new GatewayMetrics();
  const stream = new ScopeStream('signals', {
    app,
    snapshots,
    history,
    sessionsOf: () => {
      const all = clients.map((c) => c.session);
      return options.sessionsOf ? options.sessionsOf(all) : all;
    },
    metrics,
    log: pino({ level: 'silent' }),
    pacer,
    ringCapacity: options.ringCapacity,
    backplaneReconnecting: options.backplaneReconnecting,
  });
  return {
    stream,
    metrics,
    pacer,
    /** Publishes on the backplane (history) and returns the frame, not yet delivered to the gateway. */
    publish(): { seq: number; frame: Buffer } {
      const seq = ++backplaneSeq;
      const frame = frameOf(seq, run);
      published.set(seq, frame);
      return { seq, frame };
    },
    /** Publishes and delivers to the gateway's subscription at once. */
    publishLive(): number {
      const { seq, frame } = this.publish();
      stream.onEvent(seq, frame, 0);
      return seq;
    },
    /** Redis restarted empty: history and seq start again from 0. */
    restartBackplane(): void {
      published.clear();
      backplaneSeq = 0;
      run++;
    },
    get backplaneSeq() {
      return backplaneSeq;
    },
    /** Delivers an event published earlier (with `publish`) to the gateway's subscription. */
    deliver(seq: number): void {
      const frame = published.get(seq);
      if (!frame) throw new Error(`seq ${seq} was not published`);
      stream.onEvent(seq, frame, 0);
    },
    /** Resolves the oldest pending snapshot read with the backplane's state at `seq`. */
    answerSnapshot(seq: number): void {
      const d = snapshotReads.shift();
      if (!d) throw new Error('no snapshot read pending');
      d.resolve(snapshotAt(seq));
    },
    /** Fails the oldest pending snapshot read (the command connection is down). */
    failSnapshot(): void {
      const d = snapshotReads.shift();
      if (!d) throw new Error('no snapshot read pending');
      d.reject(new Error('Connection is closed.'));
    },
    get pendingSnapshotReads() {
      return snapshotReads.length;
    },
    client(): FakeClient {
      const c = new FakeClient(clients.length + 1);
      clients.push(c);
      return c;
    },
    async primeAt(seq: number): Promise<void> {
      const primed = stream.prime();
      this.answerSnapshot(seq);
      await primed;
    },
  };
}

/** A started stream with one client joined on a snapshot and following live events. */
async function followingClient(h: ReturnType<typeof harness>): Promise<FakeClient> {
  await h.primeAt(0);
  h.publishLive();
  h.publishLive();
  const c = h.client();
  const joined = h.stream.join(c.session, true);
  h.answerSnapshot(h.backplaneSeq);
  await joined;
  h.publishLive();
  expect(c.liveSeqs).toEqual([3]);
  return c;
}

describe('ScopeStream.prime while live events flow', () => {
  // The snapshot read that prime() awaits (tidy's stale-waiter check, a re-subscription) runs on the command
  // connection; live events overtake its answer on the subscriber connection. Such a read is simply older
  // than what was received; it used to be taken for a Redis that restarted its sequence (onGap), which sent
  // every client of the scope a resync and moved the ring back to the read's seq.
  it('does not resynchronise anyone when its snapshot read is overtaken by live events', async () => {
    const h = harness();
    const c = await followingClient(h);
    const read = h.stream.prime();
    const seqAtRead = h.backplaneSeq; // Redis ran the read here…
    h.publishLive(); // …then this event reached the gateway before the read's answer did
    h.answerSnapshot(seqAtRead);
    await read;
    await flush();
    h.publishLive();
    h.publishLive();
    await flush();
    expect(c.resyncs).toBe(0);
    expect(c.liveSeqs).toEqual([3, 4, 5, 6]);
    expect(await h.metrics.busGaps.get()).toMatchObject({ values: [] });
    expect(h.stream.seq).toBe(6);
  });

  it('still resynchronises every client when the backplane really restarted its sequence', async () => {
    const h = harness();
    const c = await followingClient(h);
    h.restartBackplane();
    h.publish(); // the new Redis is at seq 1; the gateway (subscription down meanwhile) last saw 3
    const read = h.stream.prime();
    h.answerSnapshot(1);
    await read;
    await flush();
    // Redis lost events the client had (its seq went below them): the client is told the stream reset.
    expect(c.resyncReasons).toEqual(['stream_reset']);
    // The resync's fresh snapshot (seq 1), then the new sequence's events, none dropped as "already seen".
    h.answerSnapshot(h.backplaneSeq);
    await flush();
    h.publishLive();
    h.publishLive();
    await flush();
    expect(c.liveSeqs).toEqual([3, 2, 3]);
    expect(c.closedWith).toBeNull();
  });
});

describe('ScopeStream.join', () => {
  // A join whose snapshots are all older than the ring reaches back used to give up with a log line, leaving the
  // client connected with neither that scope's snapshot nor its live events: silently stale.
  it('rejects (so the caller closes the client) when no snapshot can be joined to the live stream', async () => {
    const h = harness({ ringCapacity: 2 });
    await h.primeAt(0);
    for (let i = 0; i < 5; i++) h.publishLive(); // the ring holds seqs 4 and 5
    const c = h.client();
    const joined = h.stream.join(c.session, true);
    const outcome = joined.then(
      () => 'resolved',
      () => 'rejected',
    );
    for (let attempt = 0; attempt < 3; attempt++) {
      await flush();
      h.answerSnapshot(1); // every read answers a snapshot too old for the ring
    }
    expect(await outcome).toBe('rejected');
    expect(c.topics.size).toBe(0);
    expect(h.pendingSnapshotReads).toBe(0);
  });
});

describe('ScopeStream after the backplane restarted its sequence', () => {
  // Redis restarted empty: the new sequence's first events reach the gateway (ioredis resubscribes by itself)
  // before the re-prime's snapshot answer does. They used to be dropped as "already received" (their seqs are
  // below the old one); the prime then restarted the ring at the snapshot's seq, so the next live event looked
  // like a gap, and every client got a second resync for the one restart.
  it('resynchronises each client exactly once when live events overtake the re-prime', async () => {
    const h = harness();
    const c = await followingClient(h); // the gateway last received seq 3
    h.restartBackplane();
    h.publish(); // new seq 1
    const read = h.stream.prime(); // Redis runs the read at seq 1…
    h.publishLive(); // …then seq 2 reaches the gateway before the read's answer
    h.answerSnapshot(1);
    await read;
    await flush();
    expect(c.resyncs).toBe(1);
    h.answerSnapshot(h.backplaneSeq); // the resync's fresh snapshot
    await flush();
    h.publishLive();
    h.publishLive();
    await flush();
    expect(c.resyncs).toBe(1);
    expect(c.liveSeqs).toEqual([3, 3, 4]);
    expect(await h.metrics.busGaps.get()).toMatchObject({ values: [{ value: 1 }] });
  });

  // A FLUSHALL or a failover keeps the subscription up: without the ring check the new sequence's events were
  // dropped until its seq passed the old one, and its clients got nothing meanwhile.
  it('resynchronises at once when an event contradicts the ring, without waiting for a re-prime', async () => {
    const h = harness();
    const c = await followingClient(h);
    h.restartBackplane();
    h.publishLive(); // new seq 1, ring holds the old 1..3
    expect(c.resyncs).toBe(1);
    h.answerSnapshot(h.backplaneSeq);
    await flush();
    h.publishLive();
    expect(c.liveSeqs).toEqual([3, 2]);
    expect(h.stream.seq).toBe(2);
  });
});

describe('ScopeStream.join across a restart of the sequence', () => {
  // A join whose snapshot read straddled the restart got the old sequence's state at a seq the new one had not
  // reached, waited for it, and then followed the new sequence from there: silently wrong state, missed events.
  it('re-reads a snapshot whose read straddled the restart', async () => {
    const h = harness();
    const c = await followingClient(h);
    const late = h.client();
    const joined = h.stream.join(late.session, true); // reads the old sequence…
    h.restartBackplane();
    h.publishLive(); // …the new sequence's seq 1 arrives: restart, `c` is resynchronised
    h.answerSnapshot(3); // the late client's read: the old sequence at 3
    await flush();
    h.answerSnapshot(1); // c's fresh snapshot
    h.answerSnapshot(1); // the late client's second read
    await joined;
    await flush();
    for (let i = 0; i < 3; i++) h.publishLive();
    expect(late.liveSeqs).toEqual([2, 3, 4]);
    expect(c.liveSeqs).toEqual([3, 2, 3, 4]);
  });
});

describe('ScopeStream.prime with waiters ahead of the backplane', () => {
  // A client given a snapshot the backplane has not reached (an old Redis' snapshot, before the cache fix)
  // waited for that seq silently: the stale-waiter re-prime only fills up to the snapshot's seq.
  it('resynchronises a waiter whose seq the backplane has not reached, from a fresh snapshot', async () => {
    const h = harness();
    const following = await followingClient(h);
    const stuck = h.client();
    const joined = h.stream.join(stuck.session, true);
    h.answerSnapshot(50); // a snapshot from a sequence that is not this backplane's
    await joined;
    h.publishLive(); // 4
    expect(h.stream.hasStaleWaiters(-1)).toBe(true);
    const primed = h.stream.prime(); // tidy(): stale waiters
    h.answerSnapshot(h.backplaneSeq);
    await primed;
    expect(stuck.resyncReasons).toEqual(['stream_reset']);
    h.answerSnapshot(h.backplaneSeq); // its fresh snapshot, at 4
    await flush();
    h.publishLive();
    expect(stuck.liveSeqs).toEqual([5]);
    expect(stuck.closedWith).toBeNull();
    expect(following.resyncs).toBe(0);
    expect(following.liveSeqs).toEqual([3, 4, 5]);
    expect(h.stream.hasStaleWaiters(-1)).toBe(false);
  });

  it('leaves alone a waiter whose snapshot was read after the prime read', async () => {
    const h = harness();
    await followingClient(h);
    const primed = h.stream.prime();
    h.publish(); // 4, in flight to the gateway
    const late = h.client();
    const joined = h.stream.join(late.session, true);
    h.answerSnapshot(3); // the prime read ran before event 4
    h.answerSnapshot(4); // the join's read after it
    await primed;
    await joined;
    expect(late.resyncs).toBe(0);
    h.deliver(4);
    h.publishLive();
    await flush(); // the prime's history check ends; the events held meanwhile are applied
    expect(late.liveSeqs).toEqual([5]);
  });
});

describe('ScopeStream gap fill errors', () => {
  // fillGap's callback had no final catch: an exception from onGap or the replay of the held events became an
  // unhandled rejection, which ends a Node 20 process.
  it('logs and counts an exception while ending a gap fill, and resynchronises the scope', async () => {
    let failNext = false;
    const h = harness({
      sessionsOf: (all) => {
        if (failNext) {
          failNext = false;
          throw new Error('registry failure');
        }
        return all;
      },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const c = await followingClient(h);
      h.restartBackplane();
      for (let i = 0; i < 5; i++) h.publish(); // the new sequence, 1..5
      failNext = true;
      h.deliver(5); // a gap after 3; the history's 3 is not the frame received: onGap, which throws
      await flush();
      await flush();
      expect(unhandled).toEqual([]);
      expect(await h.metrics.errors.get()).toMatchObject({ values: [{ labels: { kind: 'gap_fill' }, value: 1 }] });
      expect(c.resyncs).toBe(1);
      h.answerSnapshot(h.backplaneSeq);
      await flush();
      h.publishLive();
      expect(c.liveSeqs).toEqual([3, 6]);
      expect(c.closedWith).toBeNull();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('ScopeStream.releaseWaiters', () => {
  /** Two clients waiting: `later` for seq 6 (registered first), `sooner` for seq 5. */
  async function twoWaiters() {
    const h = harness();
    await h.primeAt(0);
    h.publishLive();
    h.publishLive();
    const later = h.client();
    const sooner = h.client();
    const j1 = h.stream.join(later.session, true);
    h.answerSnapshot(6);
    await j1;
    const j2 = h.stream.join(sooner.session, true);
    h.answerSnapshot(5);
    await j2;
    return { h, later, sooner };
  }

  it('does not resurrect a waiter forgotten while the list is released', async () => {
    const { h, later, sooner } = await twoWaiters();
    sooner.onSubscribe = () => later.close(h.stream); // e.g. a socket closed by a send
    for (let i = 0; i < 3; i++) h.publishLive(); // 5 releases `sooner`
    expect(h.stream.hasStaleWaiters(-1)).toBe(false);
  });

  it('delivers each event once when an event arrives while the list is released', async () => {
    const { h, later, sooner } = await twoWaiters();
    sooner.onSubscribe = () => {
      sooner.onSubscribe = null;
      h.publishLive(); // 6, re-entrantly: releases `later`
    };
    for (let i = 0; i < 3; i++) h.publishLive(); // 3, 4, 5
    h.publishLive(); // 7
    expect(sooner.liveSeqs).toEqual([6, 7]);
    expect(later.liveSeqs).toEqual([7]);
    expect(h.stream.hasStaleWaiters(-1)).toBe(false);
  });
});

describe('ScopeStream.resume across a restart of the sequence', () => {
  // A resume whose history read straddled a restart (Redis restarted empty, FLUSHALL, failover) replayed the old
  // sequence's events and then waited for, or followed, the new sequence from the old one's position: a silent
  // gap or duplicates. The restart's resync had missed it (it was neither waiting nor subscribed yet).
  it('resynchronises, from a fresh snapshot, a resume whose history read straddled the restart', async () => {
    const h = harness({ ringCapacity: 2 });
    await h.primeAt(0);
    for (let i = 0; i < 5; i++) h.publishLive(); // the ring holds 4 and 5: a resume after 1 reads history
    const c = h.client();
    const resumed = h.stream.resume(c.session, 1); // Redis answers the old sequence's 2..5…
    h.restartBackplane();
    h.publishLive(); // …while the new sequence's seq 1 reaches the gateway: a restart, detected here
    await flush();
    expect(c.resyncs).toBe(1);
    expect(c.liveSeqs).toEqual([]); // none of the old sequence's events
    h.answerSnapshot(h.backplaneSeq); // the fresh snapshot, at the new seq 1
    expect(await resumed).toBe('ok');
    h.publishLive();
    h.publishLive();
    expect(c.liveSeqs).toEqual([2, 3]);
    expect(c.received.filter((m) => m.startsWith('{"type":"snapshot"'))).toHaveLength(1);
    expect(c.closedWith).toBeNull();
  });

  it('still replays from history when the sequence did not restart during the read', async () => {
    const h = harness({ ringCapacity: 2 });
    await h.primeAt(0);
    for (let i = 0; i < 5; i++) h.publishLive();
    const c = h.client();
    const resumed = h.stream.resume(c.session, 1);
    h.publishLive(); // 6, a live event overtaking the read's answer
    expect(await resumed).toBe('ok');
    h.publishLive();
    expect(c.resyncs).toBe(0);
    expect(c.liveSeqs).toEqual([2, 3, 4, 5, 6, 7]);
  });
});

describe('ScopeStream resync while the backplane reconnects', () => {
  // After a Redis blip the subscriber connection may come back before the command connection: the resync that its
  // first events trigger then fails its snapshot read, and every client of the scope used to be closed with 1013
  // at once (a reconnect wave). The read is retried a bounded number of times while the backplane reconnects.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A client following live events, then resynchronised by a restart whose snapshot read is now pending. */
  async function resyncing(h: ReturnType<typeof harness>): Promise<FakeClient> {
    const c = await followingClient(h);
    h.restartBackplane();
    h.publishLive(); // new seq 1 contradicts the ring: resync
    expect(c.resyncs).toBe(1);
    expect(h.pendingSnapshotReads).toBe(1);
    return c;
  }

  /** Fails the pending snapshot read, then lets the backoff elapse (the next attempt, if any, starts). */
  async function failRead(h: ReturnType<typeof harness>): Promise<void> {
    h.failSnapshot();
    await flush();
    await vi.advanceTimersByTimeAsync(5_000);
    await flush();
  }

  it('sends the resync snapshot once a read succeeds within the bounded attempts', async () => {
    let reconnecting = true;
    const h = harness({ backplaneReconnecting: () => reconnecting });
    const c = await resyncing(h);
    await failRead(h);
    expect(h.pendingSnapshotReads).toBe(1);
    await failRead(h);
    expect(h.pendingSnapshotReads).toBe(1);
    reconnecting = false; // the command connection is back
    h.answerSnapshot(h.backplaneSeq);
    await flush();
    h.publishLive();
    expect(c.closedWith).toBeNull();
    expect(c.resyncs).toBe(1);
    expect(c.received.filter((m) => m.startsWith('{"type":"snapshot"'))).toHaveLength(2); // join, resync
    expect(c.liveSeqs).toEqual([3, 2]);
  });

  it('closes with 1013 after the bounded attempts when Redis stays away', async () => {
    const h = harness({ backplaneReconnecting: () => true });
    const c = await resyncing(h);
    await failRead(h);
    await failRead(h);
    expect(c.closedWith).toBeNull();
    await failRead(h);
    expect(c.closedWith).toBe(1013);
    expect(h.pendingSnapshotReads).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.pendingSnapshotReads).toBe(0);
  });

  it('closes with 1013 at once when the read fails while the backplane is up (not a blip)', async () => {
    const h = harness({ backplaneReconnecting: () => false });
    const c = await resyncing(h);
    h.failSnapshot();
    await flush();
    expect(c.closedWith).toBe(1013);
    expect(h.pendingSnapshotReads).toBe(0);
  });
});

describe('ScopeStream with paced snapshots (a client slower than its snapshot)', () => {
  /** The client reads everything uWS holds for it, as a socket would; uWS reports the drain. */
  const drain = (h: ReturnType<typeof harness>, c: FakeClient) => {
    c.backlog = 0;
    h.pacer.onDrain(c.session);
  };
  const snapshotParts = (c: FakeClient) => c.received.filter((m) => m.startsWith('{"type":"snapshot"')).length;
  /** A stream at seq `published`, and a client that stopped reading joined on a snapshot of `parts`. */
  const stalledJoin = async (options: { parts: number; ringCapacity?: number; published: number }) => {
    const h = harness({ paceBudget: 2500, snapshotParts: options.parts, ringCapacity: options.ringCapacity });
    await h.primeAt(0);
    for (let i = 0; i < options.published; i++) h.publishLive();
    const c = h.client();
    c.stalled = true;
    const joined = h.stream.join(c.session, true);
    h.answerSnapshot(h.backplaneSeq);
    await joined;
    return { h, c };
  };

  it('holds the rest of the snapshot and the live events until the client reads, then continues exactly', async () => {
    const { h, c } = await stalledJoin({ parts: 6, published: 1 });
    expect(snapshotParts(c)).toBeLessThan(6); // the budget stopped it
    h.publishLive();
    h.publishLive();
    expect(c.liveSeqs).toEqual([]); // not subscribed before its snapshot is out
    while (snapshotParts(c) < 6) drain(h, c);
    drain(h, c);
    h.publishLive();
    expect(c.liveSeqs).toEqual([2, 3, 4]);
    expect(c.received.indexOf(c.received.find((m) => m.includes('"part":6')) as string)).toBeLessThan(
      c.received.findIndex((m) => m.startsWith('{"type":"signals"')),
    );
  });

  it('continues from history when the ring moved past the snapshot while it was paced', async () => {
    const { h, c } = await stalledJoin({ parts: 4, ringCapacity: 4, published: 1 });
    for (let i = 0; i < 10; i++) h.publishLive(); // the ring (4) no longer reaches back to seq 1
    while (snapshotParts(c) < 4) drain(h, c);
    drain(h, c);
    await flush();
    h.publishLive();
    await flush();
    expect(c.liveSeqs).toEqual(Array.from({ length: 11 }, (_, i) => i + 2));
    expect(c.resyncs).toBe(0);
  });

  it('paces the events that piled up in the ring meanwhile too, then follows live', async () => {
    const { h, c } = await stalledJoin({ parts: 4, published: 1 });
    for (let i = 0; i < 100; i++) h.publishLive(); // ~6 KB of events, more than the 2.5 KB budget
    let peak = 0;
    while (c.session.outbox !== null || !c.topics.has('signals')) {
      drain(h, c);
      peak = Math.max(peak, c.backlog);
    }
    expect(peak).toBeLessThanOrEqual(2500 + 1100); // the budget, plus at most one part
    h.publishLive();
    expect(c.liveSeqs).toEqual(Array.from({ length: 101 }, (_, i) => i + 2));
  });

  it('closes as a slow consumer a client that keeps falling behind the ring while paced', async () => {
    const { h, c } = await stalledJoin({ parts: 4, ringCapacity: 4, published: 1 });
    for (let round = 0; round < 100 && c.closedWith === null; round++) {
      for (let i = 0; i < 40; i++) h.publishLive(); // ~2.4 KB a round, faster than it reads
      c.backlog = Math.max(0, c.backlog - 1500); // it reads 1.5 KB a round
      h.pacer.onDrain(c.session);
      await flush();
    }
    expect(c.closedWith).toBe(4000);
    expect(c.resyncs).toBe(0);
  });

  it('resynchronises a resume whose history batch was paced across a restart of the sequence', async () => {
    const h = harness({ ringCapacity: 4, paceBudget: 2500 });
    await h.primeAt(0);
    for (let i = 0; i < 1100; i++) h.publishLive(); // the first history batch (1,000) ends before the ring
    const c = h.client();
    c.stalled = true;
    const resumed = h.stream.resume(c.session, 1);
    await flush();
    expect(c.session.outbox).not.toBeNull(); // the batch is being paced
    h.restartBackplane();
    // The new sequence passes the batch's end (1,001) while the batch waits: the ring then covers that position.
    for (let i = 0; i < 1002; i++) h.publishLive();
    while (c.session.outbox !== null) drain(h, c);
    await flush();
    expect(c.resyncs).toBe(1); // not the new sequence's events as if they followed the old one's
    h.answerSnapshot(h.backplaneSeq);
    expect(await resumed).toBe('ok');
    h.publishLive();
    expect(c.liveSeqs.at(-1)).toBe(1003);
  });

  it('drops what waits for a client that closes, and sends it nothing more', async () => {
    const { h, c } = await stalledJoin({ parts: 6, published: 0 });
    const sent = c.received.length;
    c.close(h.stream);
    h.pacer.abandon(c.session);
    h.publishLive();
    h.pacer.onDrain(c.session);
    expect(c.received.length).toBe(sent);
    expect(c.session.outbox).toBeNull();
  });
});
