import type { RegionFilter } from '@hydra/protocol';
import type { LiveRoute, Replay } from './live-route.js';
import type { RegionCatchUp } from './region-catch-up.js';
import type { Session, SocketData } from './session.js';
import type { SnapshotFrame } from './snapshot-cache.js';
import type { WebSocket } from './uws.js';

/**
 * The live route of a `bbox` client of an entity scope: its snapshot,
 * replay and ring tail are filtered to its tiles (RegionCatchUp, which
 * keeps what the client holds on the way), then it subscribes to its tiles'
 * topics, to which RegionTracker publishes; only while the tile map is on.
 */
export class RegionTilesRoute implements LiveRoute {
  readonly liveAtNewestOnly = false;

  constructor(private readonly regions: RegionCatchUp) {}

  /** The client is counted first (RegionCatchUp.attach: the map stays on for it), then the map is turned on. */
  open(session: Session): Promise<void> {
    this.regions.attach(session);
    return this.regions.ensureOn();
  }

  snapshotFor(session: Session, snap: SnapshotFrame): readonly Buffer[] {
    return this.regions.snapshotFor(session, bboxOf(session), snap);
  }

  startReplay(session: Session): Replay {
    const region = bboxOf(session);
    this.regions.startResume(session);
    return {
      sendsEachBatch: true,
      batch: (events) =>
        this.regions.filter(
          session,
          region,
          events.map((e) => e.frame),
        ),
      rest: () => [],
    };
  }

  tailFor(session: Session, events: Buffer[]): Buffer[] {
    return this.regions.filter(session, bboxOf(session), events);
  }

  /**
   * Only while the region map is on: a restart turned it off, and the
   * client is resynchronised instead (false).
   */
  subscribe(session: Session, ws: WebSocket<SocketData>, seq: number | null): boolean {
    if (seq === null) this.regions.startEmpty(session);
    if (!this.regions.isOn) return false;
    this.regions.subscribe(ws, session, bboxOf(session));
    return true;
  }

  isLive(session: Session, ws: WebSocket<SocketData>): boolean {
    return this.regions.isLive(ws, bboxOf(session));
  }

  unsubscribe(session: Session, ws: WebSocket<SocketData>): void {
    this.regions.unsubscribe(ws, session, bboxOf(session));
  }

  /** RegionCatchUp.forget: its view, its tiles, and the tile map when it was the scope's last bbox client. */
  forget(session: Session): void {
    this.regions.forget(session);
  }
}

/** The client's `bbox`: set, since no other client is given this route (ScopeCatchUp.routeOf). */
function bboxOf(session: Session): RegionFilter {
  if (session.region === null) throw new Error(`connection ${session.connId} has no bbox`);
  return session.region;
}
