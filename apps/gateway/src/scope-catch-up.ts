import type { HistoryStore } from '@hydra/backplane';
import { CloseCode, CloseReason, encodeResyncFrame, frameTs, type ResyncReason, type Scope } from '@hydra/protocol';
import type { ConflationTier } from './conflation-tier.js';
import { ConflationTierRoute } from './conflation-tier-route.js';
import { describeError } from './describe-error.js';
import type { LiveRoute } from './live-route.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { PacedSender } from './paced-sender.js';
import type { RegionCatchUp } from './region-catch-up.js';
import { RegionTilesRoute } from './region-tiles-route.js';
import { retryBounded } from './retry.js';
import type { ScopeConflation } from './scope-conflation.js';
import { ScopeTopicRoute } from './scope-topic-route.js';
import { ScopeWaiters } from './scope-waiters.js';
import { REPLAY_BATCH, type SequenceFollower } from './sequence-follower.js';
import type { Session } from './session.js';
import type { SnapshotCache, SnapshotFrame } from './snapshot-cache.js';

/** Round trips before a resume that keeps falling behind is turned into a resync. */
const MAX_REPLAY_ROUNDS = 50;
/**
 * Times a client may fall behind the ring while its snapshot or replay is paced (each time it continues from
 * history) before it is closed as a slow consumer: it reads slower than the scope's events arrive.
 */
const MAX_CATCH_UPS = 3;
/**
 * Snapshot reads (the first included) a resync makes while the backplane reconnects, before the client gets 1013;
 * 100 ms, then 200 ms of backoff between them (retry.ts).
 */
const RESYNC_READ_ATTEMPTS = 3;

export type ResumeOutcome = 'ok' | 'future';

export interface ScopeCatchUpDeps {
  snapshots: SnapshotCache;
  history: HistoryStore;
  sessionsOf: (scope: Scope) => Iterable<Session>;
  metrics: GatewayMetrics;
  log: Logger;
  /** Sends snapshots and replays at the client's pace (paced-sender.ts). */
  pacer: PacedSender;
  /**
   * True while a backplane connection is down and being re-established (a
   * failed read may succeed moments later). Only then does a resync retry its
   * snapshot read. Absent: never (no retry).
   */
  backplaneReconnecting?: () => boolean;
  /** The scope's conflation tiers (`conflate=<ms>`); absent: every client gets every event. */
  conflation?: Pick<ScopeConflation, 'tierOf'>;
  /** Entity scopes: the catch-up of clients with a `bbox` (region-catch-up.ts). Absent: `bbox` is ignored. */
  regions?: RegionCatchUp;
}

/**
 * Brings the clients of one scope on one gateway up to its live events: a
 * join (snapshot, then live), a resume (replay, then live), a resync.
 *
 * Guarantee (snapshot or replay, then live: no gap, no duplicate): a joining
 * client is first given the state up to some seq S (a snapshot at S, or, when
 * resuming, the history events after its position up to S), then exactly the
 * live events with seq > S, in order. The follower keeps a ring of recent
 * events with contiguous seqs; in one synchronous step the client is sent
 * what it needs, the ring's events after S, and its socket is subscribed to
 * the scope's uWS topic, so every later event reaches it through the fan-out
 * (scope-stream.ts). When S is ahead of what this gateway has received
 * (events still in flight from the backplane), the client waits and is
 * subscribed once event S is in (releaseWaiters).
 *
 * Guarantee (no silent staleness, the clients' side): every client waiting
 * or following live events is resynchronised once when the follower's
 * sequence restarts (resyncAll); so is a client that waits for a seq the
 * backplane has not reached (found by a prime, resyncWaitersAhead). A resume
 * or a paced batch whose history read straddled such a restart is
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
 * Each client takes these paths along its live route (live-route.ts,
 * routeOf), which decides what it is sent of the snapshot, of history and
 * of the ring, and what it subscribes to: the scope's topic (every event, as
 * above: ScopeTopicRoute), its tiles' topics (`bbox`: RegionTilesRoute,
 * whose views RegionCatchUp keeps exact) or its conflation tier's topic
 * (ConflationTierRoute). A conflated client (`conflate=<ms>` on an entity
 * scope) takes the same paths with conflated data: its snapshot is the
 * same, its replay is the conflation of the history after its position
 * (each changed entity's latest event, removals kept, in seq order:
 * ConflationBuffer), and instead of the ring's events and the scope's topic
 * it gets the conflation of the ring's events after its position, then
 * joins its tier at the follower's newest seq (ConflationTier.attach, which
 * holds the guarantee from there).
 *
 * Pacing goes one way: this class hands the pacer a batch together with the
 * position it brings the client to (paceThenLive), and the pacer's only call
 * back is continueLive from that position; a replay batch that the ring does
 * not reach yet is awaited by resume(), which reads on.
 *
 * Every promise this class starts ends in a handler that logs (error name
 * and message only), counts `hydra_errors_total{kind}` and resynchronises or
 * closes the clients concerned; none can become an unhandled rejection.
 */
export class ScopeCatchUp {
  private readonly waiters = new ScopeWaiters();
  /** The route of the clients that get every event (no `conflate`, no `bbox`). */
  private readonly scopeRoute: LiveRoute;
  /** The route of `bbox` clients; null where `bbox` is ignored (no deps.regions). */
  private readonly tilesRoute: LiveRoute | null;
  /** The routes of conflated clients, one per tier (made for its first client). */
  private readonly tierRoutes = new Map<ConflationTier, LiveRoute>();
  /** The follower's newest seq, and the release of a waiter that reached it: made once, not per event. */
  private readonly reached = (): number => this.follower.seq;
  private readonly subscribeWaiter = (session: Session, seq: number): void => {
    const ws = session.ws;
    if (!ws) return;
    const route = this.routeOf(session);
    if (route.liveAtNewestOnly) {
      // As from any other position: the route's tail of the ring paced, then live at the newest seq.
      const follower = this.follower;
      this.continueLive(session, seq, follower.tsAt(seq), follower.epoch, this.waiters.takeTicket());
      return;
    }
    ws.cork(() => {
      for (const frame of route.tailFor(session, this.ringAfter(seq))) ws.send(frame, false, this.deps.pacer.compress);
      this.goLive(session, route, seq);
    });
    this.deps.pacer.sentOutside(session);
  };

  constructor(
    readonly scope: Scope,
    private readonly follower: SequenceFollower,
    private readonly deps: ScopeCatchUpDeps,
  ) {
    this.scopeRoute = new ScopeTopicRoute(this.topic);
    this.tilesRoute = deps.regions === undefined ? null : new RegionTilesRoute(deps.regions);
  }

  get topic(): string {
    return this.scope;
  }

  /** The ticket the next waiter gets: a snapshot read started now is ordered after every waiter below it. */
  get ticket(): number {
    return this.waiters.ticket;
  }

  /**
   * Starts a client's flow for this scope: live only, or snapshot then live.
   * Rejects when no snapshot could be joined to the live events; the caller
   * must then close the client.
   */
  async join(session: Session, withSnapshot: boolean): Promise<void> {
    if (!withSnapshot) {
      const route = this.routeOf(session);
      const opening = route.open(session);
      if (opening !== null) {
        await opening;
        if (session.closed) return; // its close already forgot it: no view to leave behind
      }
      this.goLive(session, route, null);
      return;
    }
    await this.joinSnapshot(session, false);
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
    const follower = this.follower;
    // A restart during a history read: its resync (resyncAll) misses this client, neither waiting nor
    // subscribed yet, so the epoch is checked after each read instead.
    const epoch = follower.epoch;
    let after = afterSeq;
    // The proof still to check (position 0 needs none): against the ring here, else by the first history read.
    let proof = afterSeq > 0 ? positionTs : 0;
    const route = this.routeOf(session);
    const opening = route.open(session);
    if (opening !== null) {
      await opening;
      if (session.closed) return 'ok';
    }
    const replay = route.startReplay(session);
    for (let round = 0; round < MAX_REPLAY_ROUNDS; round++) {
      if (session.closed) return 'ok';
      if (epoch !== follower.epoch) {
        await this.resync(session, 'backplane_gap');
        return 'ok';
      }
      if (after <= follower.seq && follower.ringCovers(after)) {
        const heldTs = proof > 0 ? follower.tsAt(after) : 0;
        if (heldTs > 0) {
          if (heldTs !== proof) {
            await this.resync(session, 'stream_reset');
            return 'ok';
          }
          proof = 0;
        }
        if (proof === 0) {
          this.deliverThenLive(session, replay.rest(), after, follower.tsAt(after), epoch);
          return 'ok';
        }
      }
      const positionProof = proof;
      const read = await this.deps.metrics.timeRedis('history', () =>
        this.deps.history.readAfter(this.scope, after, REPLAY_BATCH, positionProof),
      );
      if (session.closed) return 'ok';
      if (epoch !== follower.epoch) {
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
      // The next round proves its position too: a loss while this batch is paced is not replayed over.
      const lastFrame = read.events.at(-1)?.frame;
      proof = lastFrame ? frameTs(lastFrame) : positionProof;
      const upTo = read.events.at(-1)?.seq ?? after;
      const frames = replay.batch(read.events, this.canGoLiveFrom(upTo));
      this.deps.metrics.replayedEvents.inc({ scope: this.scope }, frames.length);
      if (this.deliverThenLive(session, frames, upTo, lastFrame ? proof : positionProof, epoch)) return 'ok';
      if (!replay.sendsEachBatch) {
        // Nothing was sent: the conflation goes on with the next batch.
        after = upTo;
        continue;
      }
      // The ring does not reach back to `upTo` yet: send this batch (at the client's pace) and read on; a
      // restart while it was paced is caught at the top of the loop.
      if (!(await this.deps.pacer.sendAsync(session, frames))) return 'ok';
      after = upTo;
    }
    await this.resync(session, 'replay_too_long');
    return 'ok';
  }

  /** Removes a closed session from the waiters and its live route (subscriptions die with the socket). */
  forget(session: Session): void {
    this.waiters.forget(session);
    this.routeOf(session).forget(session);
  }

  /**
   * A conflated client was handed every conflated event up to `seq` (whose
   * event has the ts `ts`) outside this class (a flush too large to send at
   * once, paced: ConflationTier): it continues live from there, or is
   * resynchronised if the sequence restarted since `epoch`.
   */
  continueConflated(session: Session, seq: number, ts: number, epoch: number): void {
    this.continueLive(session, seq, ts, epoch, this.waiters.takeTicket());
  }

  /** Waiters stuck longer than `ms`: their event may have been lost; re-prime to find out. */
  hasStaleWaiters(ms: number): boolean {
    return this.waiters.hasStale(ms);
  }

  /** Subscribes the waiters whose seq the follower has reached (ScopeWaiters.release). */
  releaseWaiters(): void {
    this.waiters.release(this.reached, this.subscribeWaiter);
  }

  /**
   * Waiters registered before a snapshot read at `seq` (tickets below
   * `ticket`) that wait for a later seq were given a snapshot the backplane
   * has not reached (an old Redis', typically): they are resynchronised,
   * from a snapshot read anew, instead of waiting silently. The reason is
   * `stream_reset`: the backplane's seq went below one it gave out, so its
   * sequence is not the one their snapshot came from.
   */
  resyncWaitersAhead(seq: number, ticket: number): void {
    const stuck = this.waiters.takeAhead(seq, ticket);
    if (stuck.length === 0) return;
    this.deps.log.warn(
      { scope: this.scope, clients: stuck.length, backplaneSeq: seq, waitingFor: stuck[0]?.seq },
      'clients wait for a seq the backplane has not reached; resynchronising them',
    );
    this.follower.distrustReads();
    for (const w of stuck) this.resyncOrClose(w.session, 'stream_reset');
  }

  /**
   * Resynchronises every client of the scope that is waiting or following
   * live events (its tier's, when conflated), and the conflated clients
   * `waitingForFlush` (ScopeConflation.restart), once each, with `reason`
   * (the follower's RestartReason).
   */
  resyncAll(reason: ResyncReason, waitingForFlush: readonly Session[] = []): void {
    const affected = new Set<Session>(waitingForFlush);
    for (const session of this.waiters.sessions()) affected.add(session);
    for (const session of this.deps.sessionsOf(this.scope)) {
      if (!session.closed && this.isLive(session)) affected.add(session);
    }
    this.waiters.clear();
    for (const session of affected) this.resyncOrClose(session, reason);
  }

  /**
   * join() with a snapshot. `patient`: a failed snapshot read is retried while
   * the backplane reconnects (readPatiently); else it rejects at once.
   */
  private async joinSnapshot(session: Session, patient: boolean): Promise<void> {
    // Bounded retries: a snapshot older than the ring reaches back is re-read.
    const route = this.routeOf(session);
    for (let attempt = 0; attempt < 3; attempt++) {
      const epoch = this.follower.epoch;
      const opening = route.open(session);
      if (opening !== null) await opening;
      const read = attempt === 0 ? () => this.deps.snapshots.get(this.follower.seq) : () => this.deps.snapshots.read();
      const snap = await (patient ? this.readPatiently(session, read) : read());
      if (session.closed) return;
      if (epoch !== this.follower.epoch) continue; // the sequence restarted meanwhile: the snapshot may be of the old one
      if (this.deliverThenLive(session, route.snapshotFor(session, snap), snap.seq, snap.seqTs, epoch)) {
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
   * Sends `frames` (which bring the client up to `upToSeq`, whose event has
   * the ts `upToTs`, 0 when unknown), then the ring's events after `upToSeq`,
   * then subscribes: in one synchronous step when the frames fit the client's
   * send budget, else once the pacer has handed the last frame over
   * (paceThenLive). Returns false, having sent nothing, when the ring no
   * longer reaches back to `upToSeq` (the caller reads again).
   */
  private deliverThenLive(
    session: Session,
    frames: readonly Buffer[],
    upToSeq: number,
    upToTs: number,
    epoch: number,
  ): boolean {
    if (!session.ws || session.closed) return true;
    if (!this.canGoLiveFrom(upToSeq)) return false;
    // The waiter ticket orders this client's data against prime()'s reads: taken now, not once paced.
    this.paceThenLive(session, frames, upToSeq, upToTs, epoch, this.waiters.takeTicket());
    return true;
  }

  /**
   * The hand-off to the pacer on the way to live: `frames` go out at the
   * client's pace, and once the last is handed to uWS (at once when they fit)
   * the client continues live from `upToSeq` (continueLive). A session that
   * closes first goes no further.
   */
  private paceThenLive(
    session: Session,
    frames: readonly Buffer[],
    upToSeq: number,
    upToTs: number,
    epoch: number,
    ticket: number,
  ): void {
    const continueLive = (sent: boolean) => {
      if (sent) this.continueLive(session, upToSeq, upToTs, epoch, ticket);
    };
    if (this.deps.pacer.send(session, frames, continueLive)) continueLive(true);
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
   * budget (a long pacing let many accumulate), or always on a route that
   * goes live only at the follower's newest seq (a tier: its conflation of
   * the ring's events, liveAtNewestOnly); the client is subscribed once the
   * rest is small. A client that falls behind the ring more than
   * MAX_CATCH_UPS times is slower than the scope's live rate: it is closed
   * as a slow consumer (4000) instead of catching up forever.
   */
  private continueLive(session: Session, upToSeq: number, upToTs: number, epoch: number, ticket: number): void {
    const ws = session.ws;
    if (!ws || session.closed) return;
    const follower = this.follower;
    if (epoch !== follower.epoch) {
      this.resyncOrClose(session, 'backplane_gap');
      return;
    }
    if (upToSeq > follower.seq) {
      this.waiters.add(session, upToSeq, ticket);
      return;
    }
    if (!follower.ringCovers(upToSeq)) {
      this.continueFromHistory(session, upToSeq, upToTs);
      return;
    }
    const route = this.routeOf(session);
    const tail = route.tailFor(session, this.ringAfter(upToSeq));
    let bytes = 0;
    for (const frame of tail) bytes += frame.length;
    if (tail.length > 0 && (route.liveAtNewestOnly || !this.deps.pacer.fits(session, bytes))) {
      this.paceThenLive(session, tail, follower.seq, follower.ts, epoch, ticket);
      return;
    }
    ws.cork(() => {
      for (const frame of tail) ws.send(frame, false, this.deps.pacer.compress);
      this.goLive(session, route, upToSeq);
    });
    if (tail.length > 0) this.deps.pacer.sentOutside(session);
  }

  /**
   * The ring no longer reaches back to `upToSeq` (a paced batch took long):
   * the client continues from history exactly as a resume from `upToSeq`
   * proven by `upToTs` would, at most MAX_CATCH_UPS times (continueLive).
   */
  private continueFromHistory(session: Session, upToSeq: number, upToTs: number): void {
    const ws = session.ws;
    if (!ws || session.closed) return;
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

  /** Whether a client that holds every event up to `seq` can continue live: the ring reaches back to it, or it is ahead. */
  private canGoLiveFrom(seq: number): boolean {
    return seq > this.follower.seq || this.follower.ringCovers(seq);
  }

  /** The ring's events after `seq`, oldest first. */
  private ringAfter(seq: number): Buffer[] {
    const tail: Buffer[] = [];
    this.follower.forEachAfter(seq, (frame) => {
      tail.push(frame);
    });
    return tail;
  }

  /**
   * Subscribes the client to its route's live events, holding every event up
   * to `seq` (null: nothing, a join without a snapshot); a client the route
   * cannot take live now (the tile map is off: a restart turned it off) is
   * resynchronised instead.
   */
  private goLive(session: Session, route: LiveRoute, seq: number | null): void {
    const ws = session.ws;
    if (!ws || session.closed) return;
    if (!route.subscribe(session, ws, seq)) this.resyncOrClose(session, 'backplane_gap');
  }

  /** Whether the client follows its route's live events (the scope's topic, its tier's, or its tiles'). */
  private isLive(session: Session): boolean {
    const ws = session.ws;
    return ws !== null && this.routeOf(session).isLive(session, ws);
  }

  /** Tells the client its view of the scope restarts, then sends a fresh snapshot and live events. */
  private async resync(session: Session, reason: ResyncReason): Promise<void> {
    const ws = session.ws;
    if (!ws || session.closed) return;
    this.routeOf(session).unsubscribe(session, ws);
    ws.send(encodeResyncFrame(this.scope, reason), false, false);
    this.deps.metrics.resyncs.inc({ scope: this.scope, reason });
    await this.joinSnapshot(session, true);
  }

  /** resync(), and if it fails, closes the client with 1013: it was told to drop its view, and must not stay stale. */
  private resyncOrClose(session: Session, reason: ResyncReason): void {
    this.resync(session, reason).catch((err: unknown) => this.closeUnavailable(session, err, 'resync failed'));
  }

  /**
   * The session's live route in this scope: its conflation tier's, its
   * tiles' (`bbox`, on a scope that filters them), else the scope's topic.
   * It depends only on the scope and the session's options, fixed for the
   * connection, so every step of a session takes the same route (`bbox`
   * with `conflate` is refused at the upgrade: admission.ts).
   */
  private routeOf(session: Session): LiveRoute {
    const tier = this.deps.conflation?.tierOf(session) ?? null;
    if (tier !== null) {
      let route = this.tierRoutes.get(tier);
      if (route === undefined) {
        route = new ConflationTierRoute(tier);
        this.tierRoutes.set(tier, route);
      }
      return route;
    }
    if (this.tilesRoute !== null && session.region !== null) return this.tilesRoute;
    return this.scopeRoute;
  }

  /** Logs and counts a failed catch-up, then closes the client with 1013 rather than leave it stale. */
  private closeUnavailable(session: Session, err: unknown, what: string): void {
    const { metrics, log } = this.deps;
    log.warn({ err: describeError(err), scope: this.scope, connId: session.connId }, `${what}; closing with 1013`);
    metrics.errors.inc({ kind: 'resync' });
    if (!session.closed) session.ws?.end(CloseCode.TryAgainLater, CloseReason[CloseCode.TryAgainLater]);
  }
}
