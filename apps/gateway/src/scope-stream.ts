import type { HistoryStore } from '@hydra/backplane';
import { CloseCode, CloseReason, encodeResyncFrame, frameTs, type ResyncReason, type Scope } from '@hydra/protocol';
import { describeError } from './describe-error.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { PacedSender } from './paced-sender.js';
import { retryBounded } from './retry.js';
import { EventRing } from './ring-buffer.js';
import type { Session } from './session.js';
import type { SnapshotCache, SnapshotFrame } from './snapshot-cache.js';
import type { TemplatedApp } from './uws.js';

interface Waiter {
  session: Session;
  /** The client has every effect up to this seq (snapshot or replay). */
  seq: number;
  since: number;
  /** Registration order: a waiter whose ticket is below a read's was given a snapshot read before that one. */
  ticket: number;
}

/** Events read from history per round trip while a client resumes. */
const REPLAY_BATCH = 1000;
/** Round trips before a resume that keeps falling behind is turned into a resync. */
const MAX_REPLAY_ROUNDS = 50;
/**
 * Times a client may fall behind the ring while its snapshot or replay is paced (each time it continues from
 * history) before it is closed as a slow consumer: it reads slower than the scope's events arrive.
 */
const MAX_CATCH_UPS = 3;
/** History reads (of REPLAY_BATCH) a gateway spends filling a gap in its own subscription before it resyncs instead. */
const MAX_FILL_ROUNDS = 10;
/**
 * Snapshot reads (the first included) a resync makes while the backplane reconnects, before the client gets 1013;
 * 100 ms, then 200 ms of backoff between them (retry.ts).
 */
const RESYNC_READ_ATTEMPTS = 3;

interface BusEvent {
  seq: number;
  frame: Buffer;
  ts: number;
}

export type ResumeOutcome = 'ok' | 'future';

export interface ScopeStreamDeps {
  app: TemplatedApp;
  snapshots: SnapshotCache;
  history: HistoryStore;
  sessionsOf: (scope: Scope) => Iterable<Session>;
  metrics: GatewayMetrics;
  log: Logger;
  /** Sends snapshots and replays at the client's pace (paced-sender.ts). */
  pacer: PacedSender;
  ringCapacity?: number;
  /** Called after each event handed to uWS (the slow-consumer check keeps its pace under load). */
  afterFanOut?: () => void;
  /**
   * True while a backplane connection is down and being re-established (a
   * failed read may succeed moments later). Only then does a resync retry its
   * snapshot read. Absent: never (no retry).
   */
  backplaneReconnecting?: () => boolean;
  /**
   * Hands over live events the gateway holds back (write coalescing) before
   * a prime compares its snapshot with what was received: otherwise a held
   * event would look like a gap.
   */
  flushLiveEvents?: () => void;
}

/**
 * Live fan-out of one scope on one gateway, and the join of new clients.
 *
 * Guarantee (snapshot or replay, then live: no gap, no duplicate): a joining
 * client is first given the state up to some seq S (a snapshot at S, or, when
 * resuming, the history events after its position up to S), then exactly the
 * live events with seq > S, in order. The gateway keeps a ring of recent
 * events with contiguous seqs; in one synchronous step it sends what the
 * client needs, the ring's events after S, and subscribes the socket to the
 * scope's uWS topic, so every later event reaches it through `app.publish`.
 * When S is ahead of what this gateway has received (events still in flight
 * from the backplane), the client waits and is subscribed once event S is in.
 *
 * Each live event is serialised once (by the publisher) and handed to uWS
 * once; uWS writes it to every subscribed socket in C++.
 *
 * Guarantee (no silent staleness): when the seqs received skip a number, or
 * the backplane's seq moved while the subscription was down, the missing
 * events are read from the backplane's history and fanned out in order (the
 * clients see an exact continuation), provided that history is provably the
 * one this gateway was following: its event at the last seq received must be
 * byte for byte the frame received. Otherwise (Redis restarted empty, history
 * trimmed, Redis gone again) every client of the scope gets a `resync`
 * message and a fresh snapshot, then live events. The same holds when the
 * backplane's sequence restarts under a live subscription (an event at or
 * below the last seq received that the ring contradicts), when a client
 * waits for a seq the backplane has not reached (found by prime()), and when
 * handling a gap fails with an exception: each such event resynchronises a
 * client once. A resume whose history read straddled such a restart is
 * resynchronised too, never replayed the old sequence's position.
 *
 * Guarantee (a Redis blip is no reconnect wave): a resync's snapshot read
 * that fails while the backplane reconnects (the command connection may come
 * back after the subscriber whose events triggered the resync) is retried,
 * RESYNC_READ_ATTEMPTS reads in all with 300 ms of backoff overall (each read
 * fails no later than the backplane's next failed reconnect attempt); the
 * client is closed with 1013 once they all failed, or at once when a read
 * fails with the backplane up (not a blip).
 *
 * Every promise this class starts ends in a handler that logs (error name
 * and message only), counts `hydra_errors_total{kind}` and resynchronises or
 * closes the clients concerned; none can become an unhandled rejection.
 */
export class ScopeStream {
  private readonly ring: EventRing;
  private lastSeq = 0;
  private primed = false;
  private waiters: Waiter[] = [];
  /** The frame of event `lastSeq` when it came from the bus or history (null after a snapshot-only prime). */
  private lastFrame: Buffer | null = null;
  /** The ts of event `lastSeq` (from its frame, or the priming snapshot's seqTs); 0 when unknown. */
  private lastTs = 0;
  /** While a gap is filled from history: the live events that arrived meanwhile, applied after it. */
  private filling: BusEvent[] | null = null;
  /** Bumped whenever the scope's sequence restarts: a snapshot read that straddles it may be of the old one. */
  private epoch = 0;
  private nextTicket = 0;
  /** Per-event counters with their scope label bound once (no label hashing per event). */
  private readonly received;
  private readonly delivered;
  private readonly deliveredBytes;

  constructor(
    readonly scope: Scope,
    private readonly deps: ScopeStreamDeps,
  ) {
    this.ring = new EventRing(deps.ringCapacity ?? 4096);
    this.received = deps.metrics.eventsReceived.labels(scope);
    this.delivered = deps.metrics.messagesDelivered.labels(scope);
    this.deliveredBytes = deps.metrics.bytesDelivered.labels(scope);
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
   * (and again after each re-subscription, and when waiters look stuck). A
   * seq ahead of what was received means events were missed while
   * unsubscribed (filled from history when it provably continues what was
   * received, else clients are resynchronised).
   *
   * A seq behind what was received is usually only an old read: live events
   * overtake the read's answer (another connection), or the read joined one
   * already in flight. It means a restarted backplane only if the history no
   * longer holds the last frame received, so that is checked (as for an
   * equal seq) before anyone is resynchronised; on a restart the scope
   * restarts at the snapshot's seq, never at the stale one received before.
   *
   * Then every waiter registered before the read that waits for a later seq
   * than the backplane's is resynchronised: it was given a snapshot the
   * backplane has not reached, and would otherwise wait silently.
   */
  async prime(): Promise<void> {
    const ticket = this.nextTicket;
    const epoch = this.epoch;
    const snap = await this.deps.snapshots.read();
    // The sequence restarted during the read (handled, clients resynced): the read may be of the old one.
    if (epoch !== this.epoch) return;
    this.deps.flushLiveEvents?.();
    if (epoch !== this.epoch) return; // one of the held events was a restart
    this.reconcile(snap.seq, snap.seqTs);
    this.resyncWaitersAhead(snap.seq, ticket);
  }

  /** Adjusts to the backplane's seq `seq` (its event's ts `seqTs`), read by prime() (see there). */
  private reconcile(seq: number, seqTs: number): void {
    if (!this.primed) {
      this.primed = true;
      if (seq > this.lastSeq) {
        this.lastSeq = seq;
        this.lastFrame = null;
        this.lastTs = seqTs;
        this.ring.clear();
      }
      return;
    }
    if (this.filling !== null) return; // a gap fill is running; it reconciles
    if (this.lastFrame === null) {
      // Nothing received since the last snapshot-only prime: no frame to prove continuity with.
      if (seq < this.lastSeq) this.onGap(seq, null);
      else if (seq > this.lastSeq) this.fillGap(seq, null, seq);
      return;
    }
    // Same or lower seq: verify the history still holds the frame last received (a Redis restarted empty
    // may be behind it, or may have counted back up to it).
    this.fillGap(Math.max(seq, this.lastSeq), null, seq);
  }

  /** One live event from the backplane, in seq order. */
  onEvent(seq: number, frame: Buffer, publishedTs: number): void {
    this.received.inc();
    if (this.filling !== null) {
      this.filling.push({ seq, frame, ts: publishedTs });
      return;
    }
    const continuing = this.primed || this.ring.length > 0;
    if (continuing && seq <= this.lastSeq) {
      // Already covered by a snapshot or received before, unless the ring contradicts it.
      if (this.contradictsRing(seq, frame)) {
        this.onGap(seq, frame, 'the backplane restarted its sequence under a live subscription');
      }
      return;
    }
    if (continuing && seq !== this.lastSeq + 1) {
      this.fillGap(seq, { seq, frame, ts: publishedTs });
      return;
    }
    this.apply(seq, frame, publishedTs);
  }

  /** Fans out the next event (seq = lastSeq + 1) and releases the clients waiting for it. */
  private apply(seq: number, frame: Buffer, publishedTs: number): void {
    const { app, metrics } = this.deps;
    this.ring.push(seq, frame);
    this.lastSeq = seq;
    this.lastFrame = frame;
    this.lastTs = publishedTs > 0 ? publishedTs : frameTs(frame);
    const subscribers = app.numSubscribers(this.topic);
    if (subscribers > 0) {
      app.publish(this.topic, frame, false, false);
      this.delivered.inc(subscribers);
      this.deliveredBytes.inc(subscribers * frame.length);
      this.deps.afterFanOut?.();
    }
    if (publishedTs > 0) metrics.deliveryLatency.observe(Math.max(0, Date.now() - publishedTs) / 1000);
    if (this.waiters.length > 0) this.releaseWaiters();
  }

  /**
   * Starts a client's flow for this scope: live only, or snapshot then live.
   * Rejects when no snapshot could be joined to the live events; the caller
   * must then close the client.
   */
  async join(session: Session, withSnapshot: boolean): Promise<void> {
    if (!withSnapshot) {
      if (!session.closed) session.ws?.subscribe(this.topic);
      return;
    }
    await this.joinSnapshot(session, false);
  }

  /**
   * join() with a snapshot. `patient`: a failed snapshot read is retried while
   * the backplane reconnects (readPatiently); else it rejects at once.
   */
  private async joinSnapshot(session: Session, patient: boolean): Promise<void> {
    // Bounded retries: a snapshot older than the ring reaches back is re-read.
    for (let attempt = 0; attempt < 3; attempt++) {
      const epoch = this.epoch;
      const read = attempt === 0 ? () => this.deps.snapshots.get(this.lastSeq) : () => this.deps.snapshots.read();
      const snap = await (patient ? this.readPatiently(session, read) : read());
      if (session.closed) return;
      if (epoch !== this.epoch) continue; // the sequence restarted meanwhile: the snapshot may be of the old one
      if (this.deliverThenLive(session, snap.frames, snap.seq, snap.seqTs, epoch)) {
        this.deps.metrics.snapshotsSent.inc({ scope: this.scope });
        return;
      }
    }
    // Never leave the client connected without this scope's state or its live events (silently stale):
    // the caller closes it (1013, try again later).
    this.deps.log.warn({ scope: this.scope, connId: session.connId }, 'snapshot could not be joined to live events');
    this.deps.metrics.errors.inc({ kind: 'snapshot_join' });
    throw new Error(`${this.scope}: no snapshot could be joined to the live events`);
  }

  /** `read`, retried as the class guarantees for resyncs (a Redis blip); rejects with the last failure. */
  private readPatiently(session: Session, read: () => Promise<SnapshotFrame>): Promise<SnapshotFrame> {
    const { metrics, log, backplaneReconnecting } = this.deps;
    return retryBounded(read, {
      attempts: RESYNC_READ_ATTEMPTS,
      retryable: () => !session.closed && backplaneReconnecting?.() === true,
      onRetry: (err, attempt) => {
        metrics.errors.inc({ kind: 'resync_read' });
        log.warn(
          { err: describeError(err), scope: this.scope, connId: session.connId, attempt },
          'resync snapshot read failed while the backplane reconnects; retrying',
        );
      },
    });
  }

  /**
   * Resumes a client that processed every event up to `afterSeq`: replays the
   * missed events from the backplane's history (or the ring, when it reaches
   * back far enough), then continues live. A position older than the history
   * becomes a `resync` and a fresh snapshot, and so does any position when
   * the scope's sequence restarted while a history read was in flight (its
   * answer, and the client's position, may be of the old sequence).
   *
   * Guarantee (a proven position is never replayed from another sequence):
   * with `positionTs` > 0 (the `ts` of the event at `afterSeq` as the client
   * received it), the event this gateway holds at `afterSeq` (in its ring,
   * else in the history) must carry that ts, or the client gets a `resync`
   * (`stream_reset`) and a fresh snapshot: Redis lost events and assigned
   * their seqs anew (a restart without persistence, a failover to a lagging
   * replica). So does a proven position beyond the current seq. A position
   * whose event is no longer held cannot be proven and is resynchronised
   * (`history_gone`). Without a proof only the number is checked: such a
   * position ahead of the scope's current seq returns 'future' (and sends
   * nothing), one at or below it is taken as it is.
   */
  async resume(session: Session, afterSeq: number, positionTs = 0): Promise<ResumeOutcome> {
    // A restart during a history read: its resync (resyncClients) misses this client, neither waiting nor
    // subscribed yet, so the epoch is checked after each read instead.
    const epoch = this.epoch;
    let after = afterSeq;
    // The proof still to check (position 0 needs none): against the ring here, else by the first history read.
    let proof = afterSeq > 0 ? positionTs : 0;
    for (let round = 0; round < MAX_REPLAY_ROUNDS; round++) {
      if (session.closed) return 'ok';
      if (epoch !== this.epoch) {
        await this.resync(session, 'backplane_gap');
        return 'ok';
      }
      if (after <= this.lastSeq && this.ringCovers(after)) {
        const heldTs = proof > 0 ? this.tsAt(after) : 0;
        if (heldTs > 0) {
          if (heldTs !== proof) {
            await this.resync(session, 'stream_reset');
            return 'ok';
          }
          proof = 0;
        }
        if (proof === 0) {
          this.deliverThenLive(session, [], after, this.tsAt(after), epoch);
          return 'ok';
        }
      }
      const positionProof = proof;
      const read = await this.deps.metrics.timeRedis('history', () =>
        this.deps.history.readAfter(this.scope, after, REPLAY_BATCH, positionProof),
      );
      if (session.closed) return 'ok';
      if (epoch !== this.epoch) {
        await this.resync(session, 'backplane_gap');
        return 'ok';
      }
      if (read.kind === 'reset' || (read.kind === 'future' && proof > 0)) {
        await this.resync(session, 'stream_reset');
        return 'ok';
      }
      if (read.kind === 'future') return 'future';
      if (read.kind === 'gone') {
        await this.resync(session, 'history_gone');
        return 'ok';
      }
      const frames = read.events.map((e) => e.frame);
      // The next round proves its position too: a loss while this batch is paced is not replayed over.
      const lastFrame = frames.at(-1);
      proof = lastFrame ? frameTs(lastFrame) : positionProof;
      const upTo = read.events.at(-1)?.seq ?? after;
      this.deps.metrics.replayedEvents.inc({ scope: this.scope }, frames.length);
      if (this.deliverThenLive(session, frames, upTo, lastFrame ? proof : positionProof, epoch)) return 'ok';
      // The ring does not reach back to `upTo` yet: send this batch (at the client's pace) and read on; a
      // restart while it was paced is caught at the top of the loop.
      if (!(await this.deps.pacer.sendAsync(session, frames))) return 'ok';
      after = upTo;
    }
    await this.resync(session, 'replay_too_long');
    return 'ok';
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

  /**
   * Sends `frames` (which bring the client up to `upToSeq`, whose event has
   * the ts `upToTs`, 0 when unknown), then the ring's
   * events after `upToSeq`, then subscribes: in one synchronous step when
   * the frames fit the client's send budget, else once the pacer has handed
   * the last frame over (continueLive). Returns false, having sent nothing,
   * when the ring no longer reaches back to `upToSeq` (the caller reads again).
   */
  private deliverThenLive(
    session: Session,
    frames: readonly Buffer[],
    upToSeq: number,
    upToTs: number,
    epoch: number,
  ): boolean {
    if (!session.ws || session.closed) return true;
    if (upToSeq <= this.lastSeq && !this.ringCovers(upToSeq)) return false;
    // The waiter ticket orders this client's data against prime()'s reads: taken now, not once paced.
    const ticket = this.nextTicket++;
    const continueLive = (sent: boolean) => {
      if (sent) this.continueLive(session, upToSeq, upToTs, epoch, ticket);
    };
    if (this.deps.pacer.send(session, frames, continueLive)) continueLive(true);
    return true;
  }

  /**
   * The client has been handed everything up to `upToSeq`: it gets the
   * ring's events after `upToSeq` and is subscribed (one synchronous step),
   * or waits for `upToSeq` when this gateway has not received it yet. When a
   * paced batch took so long that the ring no longer reaches back to
   * `upToSeq`, the client continues from history exactly as a resume from
   * `upToSeq` proven by `upToTs` would (a `resync` and a fresh snapshot if
   * history is gone too, or no longer holds that event); when the scope's
   * sequence restarted meanwhile, it is resynchronised.
   * The ring's events go out paced too when they do not fit the client's
   * budget (a long pacing let many accumulate); the client is subscribed
   * once the rest is small. A client that falls behind the ring more than
   * MAX_CATCH_UPS times is slower than the scope's live rate: it is closed
   * as a slow consumer (4000) instead of catching up forever.
   */
  private continueLive(session: Session, upToSeq: number, upToTs: number, epoch: number, ticket: number): void {
    const ws = session.ws;
    if (!ws || session.closed) return;
    if (epoch !== this.epoch) {
      this.resyncOrClose(session, 'backplane_gap');
      return;
    }
    if (upToSeq > this.lastSeq) {
      this.waiters.push({ session, seq: upToSeq, since: performance.now(), ticket });
      return;
    }
    if (this.ringCovers(upToSeq)) {
      const tail: Buffer[] = [];
      let bytes = 0;
      this.ring.forEachAfter(upToSeq, (frame) => {
        tail.push(frame);
        bytes += frame.length;
      });
      if (tail.length > 0 && !this.deps.pacer.fits(session, bytes)) {
        const tailSeq = this.lastSeq;
        const tailTs = this.lastTs;
        const continueLive = (sent: boolean) => {
          if (sent) this.continueLive(session, tailSeq, tailTs, epoch, ticket);
        };
        if (this.deps.pacer.send(session, tail, continueLive)) continueLive(true);
        return;
      }
      ws.cork(() => {
        for (const frame of tail) ws.send(frame, false, false);
        ws.subscribe(this.topic);
      });
      return;
    }
    if (++session.catchUps > MAX_CATCH_UPS) {
      this.deps.metrics.slowConsumerCloses.inc();
      ws.end(CloseCode.SlowConsumer, CloseReason[CloseCode.SlowConsumer]);
      return;
    }
    // Proven like a client's own resume: a loss Redis suffered while the client was paced is never replayed over.
    this.resume(session, upToSeq, upToTs)
      .then((outcome) => {
        // Not after a restart, which the epoch check and resume() handle; kept total all the same.
        if (outcome === 'future') this.resyncOrClose(session, 'backplane_gap');
      })
      .catch((err: unknown) => this.closeUnavailable(session, err, 'replay after a paced batch failed'));
  }

  /** The ts of event `seq` as this gateway holds it (ring, or the newest event's), 0 when it does not. */
  private tsAt(seq: number): number {
    const frame = this.ring.frameAt(seq);
    if (frame !== undefined) return frameTs(frame);
    return seq === this.lastSeq ? this.lastTs : 0;
  }

  /** Whether the ring holds every event after `seq` up to the newest. */
  private ringCovers(seq: number): boolean {
    if (seq === this.lastSeq) return true;
    const first = this.ring.firstSeq;
    return first !== undefined && seq >= first - 1 && seq <= this.lastSeq;
  }

  /**
   * Whether an event at or below `lastSeq` proves the backplane restarted its
   * sequence: the ring holds another frame at that seq, or the event is older
   * than the ring (one subscription delivers a scope's events in seq order,
   * so the same sequence never does that). Without a ring (right after a
   * snapshot) it is an event the snapshot covers.
   */
  private contradictsRing(seq: number, frame: Buffer): boolean {
    const first = this.ring.firstSeq;
    if (first === undefined) return false;
    if (seq < first) return true;
    const held = this.ring.frameAt(seq);
    return held !== undefined && !held.equals(frame);
  }

  /**
   * Subscribes the waiters whose seq is reached. The list is swapped out
   * first, so a waiter added or forgotten by anything the sends trigger
   * (a socket closing, a re-entrant event) is neither lost nor resurrected.
   */
  private releaseWaiters(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (w.session.closed) continue;
      if (w.seq > this.lastSeq) {
        this.waiters.push(w);
        continue;
      }
      const ws = w.session.ws;
      if (!ws) continue;
      ws.cork(() => {
        this.ring.forEachAfter(w.seq, (frame) => ws.send(frame, false, false));
        ws.subscribe(this.topic);
      });
    }
  }

  /**
   * Waiters registered before a snapshot read at `seq` (tickets below
   * `ticket`) that wait for a later seq were given a snapshot the backplane
   * has not reached (an old Redis', typically): they are resynchronised,
   * from a snapshot read anew, instead of waiting silently.
   */
  private resyncWaitersAhead(seq: number, ticket: number): void {
    const ahead = (w: Waiter) => w.ticket < ticket && w.seq > seq && !w.session.closed;
    const stuck = this.waiters.filter(ahead);
    if (stuck.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ahead(w));
    this.deps.log.warn(
      { scope: this.scope, clients: stuck.length, backplaneSeq: seq, waitingFor: stuck[0]?.seq },
      'clients wait for a seq the backplane has not reached; resynchronising them',
    );
    this.epoch++;
    this.deps.snapshots.invalidate();
    for (const w of stuck) this.resyncOrClose(w.session, 'backplane_gap');
  }

  /**
   * Events after `lastSeq` up to `upTo` were not received: read them from
   * history and apply them in order (live events arriving meanwhile are held
   * and applied after). If the history cannot be proven to continue what this
   * gateway received, or cannot be read, the scope is resynchronised, and
   * restarts at the first event held, else at `restartAt` (the backplane's
   * seq when known; `upTo` by default).
   */
  private fillGap(upTo: number, first: BusEvent | null, restartAt = upTo): void {
    const held: BusEvent[] = first ? [first] : [];
    this.filling = held;
    const from = this.lastSeq;
    this.readGap(upTo)
      .catch((err: unknown) => {
        this.deps.log.warn({ err: describeError(err), scope: this.scope }, 'history read failed while filling a gap');
        return false;
      })
      .then((filled) => {
        if (this.filling === held) this.filling = null;
        if (filled) {
          if (this.lastSeq > from) {
            this.deps.log.info({ scope: this.scope, from, to: this.lastSeq }, 'subscription gap filled from history');
          }
        } else {
          const head = held.shift();
          this.onGap(head?.seq ?? restartAt, head?.frame ?? null);
        }
        // Held events the history already supplied are not replayed.
        for (const e of held) if (!filled || e.seq > this.lastSeq) this.onEvent(e.seq, e.frame, e.ts);
      })
      .catch((err: unknown) => this.recover(err, held));
  }

  /**
   * An exception while ending a gap fill (onGap, or the replay of the held
   * events): logged and counted, then the scope restarts at the newest event
   * known and every client of it is resynchronised.
   */
  private recover(err: unknown, held: readonly BusEvent[]): void {
    const { metrics, log } = this.deps;
    metrics.errors.inc({ kind: 'gap_fill' });
    log.error({ err: describeError(err), scope: this.scope }, 'handling a gap failed; resynchronising the scope');
    try {
      if (this.filling === held) this.filling = null;
      const newest = held.at(-1);
      if (newest !== undefined && newest.seq > this.lastSeq) this.restartAt(newest.seq, newest.frame);
      else this.restartAt(this.lastSeq, null);
      this.resyncClients();
    } catch (again) {
      metrics.errors.inc({ kind: 'gap_fill' });
      log.error({ err: describeError(again), scope: this.scope }, 'resynchronising the scope failed');
    }
  }

  /** Applies history events after `lastSeq` up to `upTo`; false if that history is not the one received, or gone. */
  private async readGap(upTo: number): Promise<boolean> {
    if (this.lastSeq > 0 && this.lastFrame === null) return false; // nothing to prove continuity with
    let after = Math.max(0, this.lastSeq - 1);
    let verified = this.lastSeq === 0;
    for (let round = 0; round < MAX_FILL_ROUNDS; round++) {
      const read = await this.deps.metrics.timeRedis('history', () =>
        this.deps.history.readAfter(this.scope, after, REPLAY_BATCH),
      );
      if (read.kind !== 'events') return false;
      for (const e of read.events) {
        if (e.seq < this.lastSeq) continue;
        if (e.seq === this.lastSeq) {
          if (this.lastFrame === null || !e.frame.equals(this.lastFrame)) return false;
          verified = true;
          continue;
        }
        if (!verified || e.seq !== this.lastSeq + 1) return false;
        this.apply(e.seq, e.frame, 0);
      }
      if (!verified) return false;
      if (this.lastSeq >= upTo || read.events.length === 0) return this.lastSeq >= upTo;
      after = this.lastSeq;
    }
    return false;
  }

  /** Tells the client its view of the scope restarts, then sends a fresh snapshot and live events. */
  private async resync(session: Session, reason: ResyncReason): Promise<void> {
    const ws = session.ws;
    if (!ws || session.closed) return;
    ws.unsubscribe(this.topic);
    ws.send(encodeResyncFrame(this.scope, reason), false, false);
    this.deps.metrics.resyncs.inc({ scope: this.scope, reason });
    await this.joinSnapshot(session, true);
  }

  /**
   * Events between the last one received and `seq` are missing. The ring
   * restarts at `seq`, and every client of the scope is resynchronised, so
   * none is left silently stale.
   */
  private onGap(seq: number, frame: Buffer | null, cause = 'sequence gap on the backplane subscription'): void {
    this.deps.metrics.busGaps.inc({ scope: this.scope });
    this.deps.log.warn(
      { scope: this.scope, expected: this.lastSeq + 1, got: seq },
      `${cause}; resynchronising clients`,
    );
    this.restartAt(seq, frame);
    this.resyncClients();
  }

  /** The ring restarts at `seq` (holding `frame` when known); snapshots read before are of the old sequence. */
  private restartAt(seq: number, frame: Buffer | null): void {
    this.epoch++;
    this.ring.clear();
    this.lastSeq = seq;
    this.lastFrame = frame;
    this.lastTs = frame ? frameTs(frame) : 0;
    if (frame) this.ring.push(seq, frame);
    this.deps.snapshots.invalidate();
  }

  /** Resynchronises every client of the scope that is waiting or following live events, once each. */
  private resyncClients(): void {
    const affected = new Set<Session>();
    for (const w of this.waiters) affected.add(w.session);
    for (const session of this.deps.sessionsOf(this.scope)) {
      if (!session.closed && session.ws?.isSubscribed(this.topic)) affected.add(session);
    }
    this.waiters = [];
    for (const session of affected) this.resyncOrClose(session, 'backplane_gap');
  }

  /** resync(), and if it fails, closes the client with 1013: it was told to drop its view, and must not stay stale. */
  private resyncOrClose(session: Session, reason: ResyncReason): void {
    this.resync(session, reason).catch((err: unknown) => this.closeUnavailable(session, err, 'resync failed'));
  }

  /** Logs and counts a failed catch-up, then closes the client with 1013 rather than leave it stale. */
  private closeUnavailable(session: Session, err: unknown, what: string): void {
    const { metrics, log } = this.deps;
    log.warn({ err: describeError(err), scope: this.scope, connId: session.connId }, `${what}; closing with 1013`);
    metrics.errors.inc({ kind: 'resync' });
    if (!session.closed) session.ws?.end(CloseCode.TryAgainLater, CloseReason[CloseCode.TryAgainLater]);
  }
}
