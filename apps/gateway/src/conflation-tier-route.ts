import type { HistoryEvent } from '@hydra/backplane';
import { ConflationBuffer, conflateFrames } from './conflation-buffer.js';
import type { ConflationTier } from './conflation-tier.js';
import type { LiveRoute, Replay } from './live-route.js';
import type { Session, SocketData } from './session.js';
import type { SnapshotFrame } from './snapshot-cache.js';
import type { WebSocket } from './uws.js';

/**
 * The live route of a conflated client (`conflate=<ms>` on an entity scope)
 * through one tier: its snapshot is the scope's; its replay is the
 * conflation of the history after its position and its ring tail the
 * conflation of the ring's events after its position (each changed
 * entity's latest event, removals kept, in seq order: ConflationBuffer);
 * then it joins its tier at the follower's newest seq (ConflationTier.attach,
 * which holds the guarantee from there), so it goes live only there
 * (liveAtNewestOnly).
 */
export class ConflationTierRoute implements LiveRoute {
  readonly liveAtNewestOnly = true;

  constructor(private readonly tier: ConflationTier) {}

  open(): null {
    return null;
  }

  snapshotFor(_session: Session, snap: SnapshotFrame): readonly Buffer[] {
    return snap.frames;
  }

  startReplay(): Replay {
    return new ConflatedReplay();
  }

  /** A conflated session has no bbox (the two are refused together): its tail is the ring's, unfiltered. */
  tailFor(_session: Session, events: Buffer[]): Buffer[] {
    return conflateFrames(events);
  }

  /** Without a position (`snapshot=false`) it gets the next flushes; at the follower's newest seq it attaches. */
  subscribe(session: Session, _ws: WebSocket<SocketData>, seq: number | null): boolean {
    if (seq === null) this.tier.subscribe(session);
    else this.tier.attach(session, seq);
    return true;
  }

  /** A client waiting for a flush is not live yet (ScopeConflation.restart hands those over). */
  isLive(_session: Session, ws: WebSocket<SocketData>): boolean {
    return ws.isSubscribed(this.tier.topic);
  }

  /** Leaves the tier's topic, and stops waiting for a flush. */
  unsubscribe(session: Session, ws: WebSocket<SocketData>): void {
    ws.unsubscribe(this.tier.topic);
    this.tier.forget(session);
  }

  /** Stops waiting for a flush. */
  forget(session: Session): void {
    this.tier.forget(session);
  }
}

/** A conflated client's replay: conflated across every batch, sent once it reaches the ring. */
class ConflatedReplay implements Replay {
  readonly sendsEachBatch = false;
  private readonly buffer = new ConflationBuffer();

  batch(events: readonly HistoryEvent[], last: boolean): Buffer[] {
    for (const e of events) this.buffer.add(e.seq, e.frame);
    // Sent only with the batch that deliverThenLive accepts (it reaches the ring, or is ahead of it).
    return last ? this.rest() : [];
  }

  rest(): Buffer[] {
    return this.buffer.take().map((e) => e.frame);
  }
}
