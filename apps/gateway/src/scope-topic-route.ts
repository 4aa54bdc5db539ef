import type { LiveRoute, Replay } from './live-route.js';
import type { Session, SocketData } from './session.js';
import type { SnapshotFrame } from './snapshot-cache.js';
import type { WebSocket } from './uws.js';

/** A resume's replay of every event: each batch as it is read (stateless, shared by every resume). */
const EVERY_EVENT: Replay = {
  sendsEachBatch: true,
  batch: (events) => events.map((e) => e.frame),
  rest: () => [],
};

/**
 * The live route of a client that gets every event of the scope: its
 * snapshot, replay and ring tail as they are, then the scope's uWS topic,
 * to which ScopeStream publishes each event the follower applies.
 */
export class ScopeTopicRoute implements LiveRoute {
  readonly liveAtNewestOnly = false;

  constructor(private readonly topic: string) {}

  open(): null {
    return null;
  }

  snapshotFor(_session: Session, snap: SnapshotFrame): readonly Buffer[] {
    return snap.frames;
  }

  startReplay(): Replay {
    return EVERY_EVENT;
  }

  tailFor(_session: Session, events: Buffer[]): Buffer[] {
    return events;
  }

  subscribe(_session: Session, ws: WebSocket<SocketData>): boolean {
    ws.subscribe(this.topic);
    return true;
  }

  isLive(_session: Session, ws: WebSocket<SocketData>): boolean {
    return ws.isSubscribed(this.topic);
  }

  unsubscribe(_session: Session, ws: WebSocket<SocketData>): void {
    ws.unsubscribe(this.topic);
  }

  /** Nothing is kept for a client: uWS dropped its subscription with the socket. */
  forget(): void {}
}
