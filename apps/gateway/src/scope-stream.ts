import type { HistoryStore } from '@hydra/backplane';
import type { Scope } from '@hydra/protocol';
import { HotCount } from './hot-count.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { PacedSender } from './paced-sender.js';
import { RegionCatchUp } from './region-catch-up.js';
import { RegionTracker } from './region-tracker.js';
import { type ResumeOutcome, ScopeCatchUp } from './scope-catch-up.js';
import { ScopeConflation } from './scope-conflation.js';
import { type RestartReason, SequenceFollower, type SequenceListener } from './sequence-follower.js';
import type { Session } from './session.js';
import { FRAME_HEADER_BYTES } from './slow-consumer-policy.js';
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
  /**
   * Entity scopes: the `bbox` clients' snapshots are cut into parts of at
   * most this many bytes (HYDRA_SNAPSHOT_CHUNK_BYTES). Absent: the scope
   * keeps no region map and ignores `bbox` (log scopes).
   */
  regionChunkBytes?: number;
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
 *
 * Entity scopes also publish each event to its tile topic for the clients
 * with a `bbox` (RegionTracker), in the same step, once per gateway.
 */
export class ScopeStream implements SequenceListener {
  readonly follower: SequenceFollower;
  readonly catchUp: ScopeCatchUp;
  /** The conflation tiers of an entity scope (`conflate=<ms>`, scope-conflation.ts); none for a log scope. */
  readonly conflation: ScopeConflation;
  /** Entity scopes: the tile topics of `bbox` clients (region-tracker.ts); null for log scopes. */
  readonly regions: RegionTracker | null;
  /** Per-event counters (HotCount: an addition per event, no label hashing). */
  private readonly delivered: HotCount;
  private readonly deliveredBytes: HotCount;

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
    const follower = this.follower;
    this.conflation = new ScopeConflation(scope, {
      app: deps.app,
      pacer: deps.pacer,
      seq: () => follower.seq,
      epoch: () => follower.epoch,
      // Half the pacer's budget (a quarter of HYDRA_MAX_BUFFERED_BYTES) per slice of a flush.
      sliceBytes: Math.max(1, Math.floor(deps.pacer.budgetBytes / 2)),
      published: (frames, bytes, subscribers) => {
        this.delivered.inc(frames * subscribers);
        this.deliveredBytes.inc(bytes * subscribers);
        // Told as one frame: the slice's other frames add their headers (each subscriber gets every frame).
        this.deps.afterFanOut?.(bytes + (frames - 1) * FRAME_HEADER_BYTES);
      },
      continueFrom: (session, seq, ts, epoch) => this.catchUp.continueConflated(session, seq, ts, epoch),
      flushed: (tierMs, entities) => {
        const labels = { scope, tier: String(tierMs) };
        metrics.conflationFlushes.inc(labels);
        metrics.conflationEntitiesFlushed.inc(labels, entities);
      },
    });
    this.regions =
      deps.regionChunkBytes === undefined
        ? null
        : new RegionTracker(scope, {
            app: deps.app,
            follower: this.follower,
            snapshots,
            metrics,
            compress: deps.pacer.compress,
            afterFanOut: deps.afterFanOut,
            tileTopics: (topics) => metrics.regionTileTopics.set({ scope }, topics),
          });
    this.catchUp = new ScopeCatchUp(scope, this.follower, {
      conflation: this.conflation,
      snapshots,
      history,
      sessionsOf: deps.sessionsOf,
      metrics,
      log,
      pacer: deps.pacer,
      backplaneReconnecting: deps.backplaneReconnecting,
      regions:
        this.regions === null || deps.regionChunkBytes === undefined
          ? undefined
          : new RegionCatchUp(this.regions, deps.regionChunkBytes),
    });
    this.delivered = new HotCount(metrics.messagesDelivered, { scope });
    this.deliveredBytes = new HotCount(metrics.bytesDelivered, { scope });
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
    const interruptions = this.follower.interruptions;
    const snap = await this.deps.snapshots.read();
    // The sequence restarted during the read (handled, clients resynced): the read may be of the old one.
    if (epoch !== this.follower.epoch) return;
    // The subscription was interrupted during the read: it may be of the Redis before a failover. The
    // re-subscription that follows every interruption primes again.
    if (interruptions !== this.follower.interruptions) return;
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
  applied(seq: number, frame: Buffer, publishedTs: number): void {
    const { app, metrics } = this.deps;
    const subscribers = app.numSubscribers(this.topic);
    if (subscribers > 0) {
      app.publish(this.topic, frame, false, this.deps.pacer.compress);
      this.delivered.inc(subscribers);
      this.deliveredBytes.inc(subscribers * frame.length);
      this.deps.afterFanOut?.(frame.length);
    }
    this.regions?.applied(seq, frame);
    if (publishedTs > 0) metrics.deliveryLatency.observe(Math.max(0, Date.now() - publishedTs) / 1000);
    this.conflation.onEvent(seq, frame);
    this.catchUp.releaseWaiters();
  }

  /** SequenceListener: the sequence restarted; every client of the scope is resynchronised, told `reason`. */
  restarted(reason: RestartReason): void {
    this.regions?.reset();
    this.catchUp.resyncAll(reason, this.conflation.restart());
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
