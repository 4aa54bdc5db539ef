import type { HistoryRead, HistoryStore } from '@hydra/backplane';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics.js';
import { ScopeStream } from './scope-stream.js';
import { createSession, type Session } from './session.js';
import type { SnapshotCache, SnapshotFrame } from './snapshot-cache.js';
import type { TemplatedApp, WebSocket } from './uws.js';

/**
 * ScopeStream on fakes whose every await the test controls: snapshot reads
 * resolve when the test says so, history answers from the frames "published",
 * and a fake uWS app delivers `publish` to the sockets subscribed to the topic.
 */

const frameOf = (seq: number): Buffer => Buffer.from(`{"type":"signals","seq":${seq},"ts":0,"data":{"n":${seq}}}`);

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every already-settled in-memory promise chain run to its end (no timer, no I/O is involved). */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

class FakeClient {
  readonly received: string[] = [];
  readonly topics = new Set<string>();
  closedWith: number | null = null;
  readonly session: Session;

  constructor(connId: number) {
    this.session = createSession({
      connId,
      ip: '127.0.0.1',
      keyId: 'k',
      scopes: ['signals'],
      expiresAt: null,
      wantSnapshot: true,
      resume: new Map(),
      rejection: null,
      slotHeld: false,
    });
    const ws = {
      send: (m: Buffer | string) => {
        this.received.push(m.toString());
        return 1;
      },
      cork: (cb: () => void) => cb(),
      subscribe: (t: string) => this.topics.add(t),
      unsubscribe: (t: string) => this.topics.delete(t),
      isSubscribed: (t: string) => this.topics.has(t),
      end: (code: number) => {
        this.closedWith = code;
      },
    };
    this.session.ws = ws as unknown as WebSocket<Session>;
  }

  /** The seqs of the live `signals` events received, in order. */
  get liveSeqs(): number[] {
    return this.received.filter((m) => m.startsWith('{"type":"signals"')).map((m) => JSON.parse(m).seq as number);
  }

  get resyncs(): number {
    return this.received.filter((m) => m.startsWith('{"type":"resync"')).length;
  }
}

function harness(options: { ringCapacity?: number } = {}) {
  const clients: FakeClient[] = [];
  /** What the backplane published (its history), by seq. */
  const published = new Map<number, Buffer>();
  let backplaneSeq = 0;
  const snapshotReads: Deferred<SnapshotFrame>[] = [];
  const snapshotAt = (seq: number): SnapshotFrame => ({
    seq,
    frames: [Buffer.from(`{"type":"snapshot","data":{"scope":"signals","seq":${seq},"items":[]}}`)],
    itemCount: 0,
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
    sessionsOf: () => clients.map((c) => c.session),
    metrics,
    log: pino({ level: 'silent' }),
    ringCapacity: options.ringCapacity,
  });
  return {
    stream,
    metrics,
    /** Publishes on the backplane (history) and returns the frame, not yet delivered to the gateway. */
    publish(): { seq: number; frame: Buffer } {
      const seq = ++backplaneSeq;
      const frame = frameOf(seq);
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
    },
    get backplaneSeq() {
      return backplaneSeq;
    },
    /** Resolves the oldest pending snapshot read with the backplane's state at `seq`. */
    answerSnapshot(seq: number): void {
      const d = snapshotReads.shift();
      if (!d) throw new Error('no snapshot read pending');
      d.resolve(snapshotAt(seq));
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
    expect(c.resyncs).toBe(1);
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
