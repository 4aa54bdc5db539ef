import type { HistoryEvent } from '@hydra/backplane';
import type { Session, SocketData } from './session.js';
import type { SnapshotFrame } from './snapshot-cache.js';
import type { WebSocket } from './uws.js';

/**
 * How one client of a scope gets the scope's live events, and what it is
 * sent on its way there (ScopeCatchUp: join, resume, resync). There are
 * three routes:
 *
 * - the scope's topic: every event (scope-topic-route.ts);
 * - a conflation tier's topic: `conflate=<ms>` on an entity scope
 *   (conflation-tier-route.ts);
 * - the topics of its tiles: `bbox` on an entity scope
 *   (region-tiles-route.ts).
 *
 * A session takes exactly one route per scope, fixed by its options
 * (ScopeCatchUp.routeOf): `bbox` with `conflate` is refused at the upgrade
 * (admission.ts). A route keeps no state of its own per client: one route
 * object serves every client of the scope that takes it.
 */
export interface LiveRoute {
  /**
   * True when the client can go live only at the follower's newest seq (a
   * tier: ConflationTier.attach): the ring's events it needs first
   * (tailFor) always go to the pacer, and once they are handed over it
   * continues live from the newest seq. False: it is subscribed at the seq
   * it holds, in the synchronous step that sends it the ring's events after
   * that seq (paced first only when they do not fit its send budget).
   */
  readonly liveAtNewestOnly: boolean;

  /**
   * A catch-up of the client starts (a join, a resume, each snapshot
   * attempt). Returns a promise that resolves once the route can take the
   * client live (the tile map is on), or null when it always can: the
   * catch-up then goes on in the same step.
   */
  open(session: Session): Promise<void> | null;

  /** The parts of `snap` the client is sent: what it holds at the snapshot's seq. */
  snapshotFor(session: Session, snap: SnapshotFrame): readonly Buffer[];

  /** Starts a resume's replay of history for the client (what it holds at its position is unknown). */
  startReplay(session: Session): Replay;

  /** `events`, the ring's events after the client's position in seq order, as the client is to get them. */
  tailFor(session: Session, events: Buffer[]): Buffer[];

  /**
   * Subscribes the client to its live events. `seq`: it holds every event
   * up to `seq` (the follower's newest seq when liveAtNewestOnly); null: it
   * joins without a snapshot, holding nothing. Returns false when it cannot
   * go live now (the tile map is off): the caller resynchronises it.
   */
  subscribe(session: Session, ws: WebSocket<SocketData>, seq: number | null): boolean;

  /** Whether the client follows its live events. */
  isLive(session: Session, ws: WebSocket<SocketData>): boolean;

  /** Stops the client's live events (a resync starts it again). */
  unsubscribe(session: Session, ws: WebSocket<SocketData>): void;

  /** Drops what is kept for a closed client (its subscriptions died with the socket). */
  forget(session: Session): void;
}

/** What one resume sends of the history batches it reads (LiveRoute.startReplay). */
export interface Replay {
  /**
   * True: each batch is sent as it is read (paced), before the next read.
   * False: the batches are held back and sent together with the last one
   * (a conflation across every batch).
   */
  readonly sendsEachBatch: boolean;

  /**
   * The frames to send for one batch of history events (in seq order).
   * `last`: the replay ends with it, the client continuing live after it
   * (the ring reaches back to its last seq, or it is ahead of the ring).
   */
  batch(events: readonly HistoryEvent[], last: boolean): Buffer[];

  /** The frames still to send when the ring reaches the client's position before another read. */
  rest(): Buffer[];
}
