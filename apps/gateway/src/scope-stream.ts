import type { Scope } from '@hydra/protocol';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import { EventRing } from './ring-buffer.js';
import type { Session } from './session.js';
import type { SnapshotCache, SnapshotFrame } from './snapshot-cache.js';
import type { TemplatedApp } from './uws.js';

interface Waiter {
  session: Session;
  /** The snapshot's seq: the client has every effect up to it. */
  seq: number;
  since: number;
}

/**
 * Live fan-out of one scope on one gateway, and the join of new clients.
 *
 * Guarantee (snapshot then live, no gap, no duplicate): a joining client is
 * sent a snapshot at seq S, then exactly the events with seq > S, in order.
 * The gateway keeps a ring of recent events with contiguous seqs. After the
 * snapshot read, in one synchronous step, the client gets the snapshot, the
 * ring's events after S, and is subscribed to the scope's uWS topic, so every
 * later event reaches it through `app.publish`. When S is ahead of the events
 * this gateway has received (they are still in flight from the backplane),
 * the client waits and is subscribed when event S arrives.
 *
 * Each live event is serialised once (by the publisher) and handed to uWS
 * once; uWS writes it to every subscribed socket in C++.
 *
 * Guarantee (no silent staleness): when the seqs received skip a number, or
 * the backplane subscription was re-established after a gap, every client of
 * the scope is resynchronised with a fresh snapshot.
 */
export class ScopeStream {
  private readonly ring: EventRing;
  private lastSeq = 0;
  private primed = false;
  private waiters: Waiter[] = [];

  constructor(
    readonly scope: Scope,
    private readonly app: TemplatedApp,
    private readonly snapshots: SnapshotCache,
    private readonly sessionsOf: (scope: Scope) => Iterable<Session>,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    ringCapacity = 4096,
  ) {
    this.ring = new EventRing(ringCapacity);
  }

  get topic(): string {
    return this.scope;
  }

  /** The highest seq this gateway has received (or learnt from a snapshot). */
  get seq(): number {
    return this.lastSeq;
  }

  /**
   * Learns the scope's current seq once the backplane subscription is active
   * (and again after each re-subscription). A seq ahead of what was received
   * means events were missed while unsubscribed, one behind means the
   * backplane restarted its sequence: either way clients are resynchronised.
   */
  async prime(): Promise<void> {
    const snap = await this.snapshots.read();
    if (!this.primed) {
      this.primed = true;
      if (snap.seq > this.lastSeq) {
        this.lastSeq = snap.seq;
        this.ring.clear();
      }
      return;
    }
    // Ahead: events were missed while unsubscribed. Behind: the backplane lost
    // its state (e.g. Redis restarted empty) and seqs started again.
    if (snap.seq !== this.lastSeq) this.onGap(snap.seq, null);
  }

  /** One live event from the backplane, in seq order. */
  onEvent(seq: number, frame: Buffer, publishedTs: number): void {
    this.metrics.eventsReceived.inc({ scope: this.scope });
    const continuing = this.primed || this.ring.length > 0;
    if (continuing && seq <= this.lastSeq) return; // already covered by a snapshot or received before
    if (continuing && seq !== this.lastSeq + 1) {
      this.onGap(seq, frame);
      return;
    }
    this.ring.push(seq, frame);
    this.lastSeq = seq;
    const subscribers = this.app.numSubscribers(this.topic);
    if (subscribers > 0) {
      this.app.publish(this.topic, frame, false, false);
      this.metrics.messagesDelivered.inc({ scope: this.scope }, subscribers);
      this.metrics.bytesDelivered.inc({ scope: this.scope }, subscribers * frame.length);
    }
    if (publishedTs > 0) this.metrics.deliveryLatency.observe(Math.max(0, Date.now() - publishedTs) / 1000);
    if (this.waiters.length > 0) this.releaseWaiters();
  }

  /** Starts a client's flow for this scope: live only, or snapshot then live. */
  async join(session: Session, withSnapshot: boolean): Promise<void> {
    if (!withSnapshot) {
      if (!session.closed) session.ws?.subscribe(this.topic);
      return;
    }
    // Bounded retries: a snapshot older than the ring reaches back is re-read.
    for (let attempt = 0; attempt < 3; attempt++) {
      const snap = attempt === 0 ? await this.snapshots.get(this.lastSeq) : await this.snapshots.read();
      if (session.closed) return;
      if (this.tryDeliver(session, snap)) return;
    }
    this.log.warn({ scope: this.scope, connId: session.connId }, 'snapshot could not be joined to live events');
    this.metrics.errors.inc({ kind: 'snapshot_join' });
  }

  /** Removes a closed session from the waiters (subscriptions die with the socket). */
  forget(session: Session): void {
    if (this.waiters.length > 0) this.waiters = this.waiters.filter((w) => w.session !== session);
  }

  /** Waiters stuck longer than `ms`: their event may have been lost; re-prime to find out. */
  hasStaleWaiters(ms: number): boolean {
    const now = performance.now();
    return this.waiters.some((w) => now - w.since > ms);
  }

  private tryDeliver(session: Session, snap: SnapshotFrame): boolean {
    const ws = session.ws;
    if (!ws) return true;
    if (snap.seq > this.lastSeq) {
      ws.send(snap.frame, false, false);
      this.metrics.snapshotsSent.inc({ scope: this.scope });
      this.waiters.push({ session, seq: snap.seq, since: performance.now() });
      return true;
    }
    if (!this.ringCovers(snap.seq)) return false;
    ws.cork(() => {
      ws.send(snap.frame, false, false);
      this.ring.forEachAfter(snap.seq, (frame) => ws.send(frame, false, false));
      ws.subscribe(this.topic);
    });
    this.metrics.snapshotsSent.inc({ scope: this.scope });
    return true;
  }

  /** Whether the ring holds every event after `seq` up to the newest. */
  private ringCovers(seq: number): boolean {
    if (seq === this.lastSeq) return true;
    const first = this.ring.firstSeq;
    return first !== undefined && seq >= first - 1;
  }

  private releaseWaiters(): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.session.closed) continue;
      if (w.seq > this.lastSeq) {
        still.push(w);
        continue;
      }
      const ws = w.session.ws;
      if (!ws) continue;
      ws.cork(() => {
        this.ring.forEachAfter(w.seq, (frame) => ws.send(frame, false, false));
        ws.subscribe(this.topic);
      });
    }
    this.waiters = still;
  }

  /**
   * Events between the last one received and `seq` are missing. The ring
   * restarts at `seq`, and every client of the scope gets a fresh snapshot
   * followed by live events, so none is left silently stale.
   */
  private onGap(seq: number, frame: Buffer | null): void {
    this.metrics.busGaps.inc({ scope: this.scope });
    this.log.warn(
      { scope: this.scope, expected: this.lastSeq + 1, got: seq },
      'sequence gap on backplane subscription; resynchronising clients',
    );
    this.ring.clear();
    this.lastSeq = seq;
    if (frame) this.ring.push(seq, frame);
    this.snapshots.invalidate();
    const affected = new Set<Session>();
    for (const w of this.waiters) affected.add(w.session);
    this.waiters = [];
    for (const session of this.sessionsOf(this.scope)) {
      if (!session.closed && session.ws?.isSubscribed(this.topic)) affected.add(session);
    }
    for (const session of affected) {
      if (session.closed || !session.ws) continue;
      session.ws.unsubscribe(this.topic);
      this.metrics.resyncs.inc({ scope: this.scope });
      void this.join(session, true).catch((err: unknown) => {
        this.log.error({ err, scope: this.scope }, 'resync failed');
      });
    }
  }
}
