import type { HistoryStore } from '@hydra/backplane';
import type { Scope } from '@hydra/protocol';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { PacedSender } from './paced-sender.js';
import { type ResumeOutcome, ScopeCatchUp } from './scope-catch-up.js';
import { SequenceFollower, type SequenceListener } from './sequence-follower.js';
import type { Session } from './session.js';
import type { SnapshotCache } from './snapshot-cache.js';
import type { TemplatedApp } from './uws.js';

export type { ResumeOutcome } from './scope-catch-up.js';

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
  /**
   * Called after each event handed to uWS with its frame's size (the
   * slow-consumer check keeps its pace under load, and counts what the
   * fan-out may have buffered for each client).
   */
  afterFanOut?: (frameBytes: number) => void;
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
 * Live fan-out of one scope on one gateway: wires the bus side
 * (SequenceFollower, sequence-follower.ts: ring, positions, gaps, restarts)
 * to the clients' side (ScopeCatchUp, scope-catch-up.ts: join, resume,
 * waiters, resync), and publishes each event the follower applies to the
 * scope's uWS topic.
 *
 * Each live event is serialised once (by the publisher) and handed to uWS
 * once; uWS writes it to every subscribed socket in C++. An event is fanned
 * out before the waiters it releases are subscribed, so each client gets it
 * exactly once: from the fan-out if it was subscribed, else from the ring.
 * A restart of the sequence resynchronises every client of the scope once.
 */
export class ScopeStream implements SequenceListener {
  readonly follower: SequenceFollower;
  readonly catchUp: ScopeCatchUp;
  /** Per-event counters with their scope label bound once (no label hashing per event). */
  private readonly delivered;
  private readonly deliveredBytes;

  constructor(
    readonly scope: Scope,
    private readonly deps: ScopeStreamDeps,
  ) {
    const { snapshots, history, metrics, log } = deps;
    this.follower = new SequenceFollower(
      scope,
      { history, snapshots, metrics, log, ringCapacity: deps.ringCapacity },
      this,
    );
    this.catchUp = new ScopeCatchUp(scope, this.follower, {
      snapshots,
      history,
      sessionsOf: deps.sessionsOf,
      metrics,
      log,
      pacer: deps.pacer,
      backplaneReconnecting: deps.backplaneReconnecting,
    });
    this.delivered = metrics.messagesDelivered.labels(scope);
    this.deliveredBytes = metrics.bytesDelivered.labels(scope);
  }

  get topic(): string {
    return this.scope;
  }

  /** The highest seq this gateway has received (or learnt from a snapshot). */
  get seq(): number {
    return this.follower.seq;
  }

  /**
   * Learns the scope's current seq once the backplane subscription is active
   * (and again after each re-subscription, and when waiters look stuck): the
   * follower reconciles with it (SequenceFollower.reconcile). Then every
   * waiter registered before the read that waits for a later seq than the
   * backplane's is resynchronised: it was given a snapshot the backplane has
   * not reached, and would otherwise wait silently.
   */
  async prime(): Promise<void> {
    const ticket = this.catchUp.ticket;
    const epoch = this.follower.epoch;
    const snap = await this.deps.snapshots.read();
    // The sequence restarted during the read (handled, clients resynced): the read may be of the old one.
    if (epoch !== this.follower.epoch) return;
    this.deps.flushLiveEvents?.();
    if (epoch !== this.follower.epoch) return; // one of the held events was a restart
    this.follower.reconcile(snap.seq, snap.seqTs);
    this.catchUp.resyncWaitersAhead(snap.seq, ticket);
  }

  /** One live event from the backplane, in seq order. */
  onEvent(seq: number, frame: Buffer, publishedTs: number): void {
    this.follower.onEvent(seq, frame, publishedTs);
  }

  /** SequenceListener: fans the event out to the subscribed sockets, then releases the clients waiting for it. */
  applied(_seq: number, frame: Buffer, publishedTs: number): void {
    const { app, metrics } = this.deps;
    const subscribers = app.numSubscribers(this.topic);
    if (subscribers > 0) {
      app.publish(this.topic, frame, false, this.deps.pacer.compress);
      this.delivered.inc(subscribers);
      this.deliveredBytes.inc(subscribers * frame.length);
      this.deps.afterFanOut?.(frame.length);
    }
    if (publishedTs > 0) metrics.deliveryLatency.observe(Math.max(0, Date.now() - publishedTs) / 1000);
    this.catchUp.releaseWaiters();
  }

  /** SequenceListener: the sequence restarted; every client of the scope is resynchronised. */
  restarted(): void {
    this.catchUp.resyncAll();
  }

  /** ScopeCatchUp.join. */
  join(session: Session, withSnapshot: boolean): Promise<void> {
    return this.catchUp.join(session, withSnapshot);
  }

  /** ScopeCatchUp.resume. */
  resume(session: Session, afterSeq: number, positionTs = 0): Promise<ResumeOutcome> {
    return this.catchUp.resume(session, afterSeq, positionTs);
  }

  /** Removes a closed session from the waiters (subscriptions die with the socket). */
  forget(session: Session): void {
    this.catchUp.forget(session);
  }

  /** Waiters stuck longer than `ms`: their event may have been lost; re-prime to find out. */
  hasStaleWaiters(ms: number): boolean {
    return this.catchUp.hasStaleWaiters(ms);
  }
}
