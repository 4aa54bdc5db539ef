import { hasTile, type RegionFilter } from '@hydra/protocol';
import { snapshotTiles } from './region-snapshot-index.js';
import { leftAreaFrame, type RegionTracker, seqAndTs } from './region-tracker.js';
import type { Session, SocketData } from './session.js';
import type { SnapshotFrame } from './snapshot-cache.js';
import { encodeSnapshotChunks } from './snapshot-chunks.js';
import type { WebSocket } from './uws.js';

/**
 * What a bbox client holds of the scope while it catches up: the ids of the
 * entities it holds, and, after a resume (whose starting view the gateway
 * does not know), the ids decided since (`known`); an id not yet decided is
 * taken as held, so the client is told `left_area` for it rather than kept
 * stale (a removal of an entity it did not hold changes nothing).
 */
interface HeldView {
  held: Set<string>;
  known: Set<string> | null;
}

/**
 * The per-client side of region filters for one entity scope, used only at
 * connect, resume and resync (per-client work, never per live event): the
 * client's snapshot holds the entities of its tiles, the events it is sent
 * before it goes live (the ring's tail, a replay) are filtered against what
 * it holds, with `left_area` removals made for entities that left its tiles,
 * and going live subscribes it to its tile topics (RegionTracker publishes
 * to them).
 *
 * Guarantee: a client joined with a snapshot at S holds exactly the entities
 * whose state at S has a position in its tiles, and after each filtered
 * event at seq N exactly those at N; it subscribes at the follower's seq, so
 * the tracker's publishes continue that view exactly. A resumed client may
 * in addition be sent `left_area` for entities it never held (see HeldView).
 */
export class RegionCatchUp {
  private readonly views = new Map<Session, HeldView>();
  /** The open bbox clients of the scope: the tile map runs while there is one (attach, forget). */
  private readonly clients = new Set<Session>();

  constructor(
    private readonly tracker: RegionTracker,
    private readonly chunkBytes: number,
  ) {}

  get scope() {
    return this.tracker.scope;
  }

  /** Whether the tracker's map is on (a client may go live on its tiles). */
  get isOn(): boolean {
    return this.tracker.isOn;
  }

  /** RegionTracker.ensureOn: the map must be on before any bbox client of the scope goes live. */
  ensureOn(): Promise<void> {
    return this.tracker.ensureOn();
  }

  /** The parts of `snap` holding the entities of the client's tiles; the client's view starts from them. */
  snapshotFor(session: Session, region: RegionFilter, snap: SnapshotFrame): Buffer[] {
    const { byTile } = snapshotTiles(snap);
    const ids = new Set<string>();
    const items: string[] = [];
    for (const tile of region.tiles) {
      const group = byTile.get(tile);
      if (group === undefined) continue;
      for (const id of group.ids) ids.add(id);
      for (const item of group.items) items.push(item);
    }
    this.views.set(session, { held: ids, known: null });
    return encodeSnapshotChunks(this.scope, snap.seq, snap.seqTs, items, this.chunkBytes);
  }

  /** A client that joins live without a snapshot holds nothing. */
  startEmpty(session: Session): void {
    this.views.set(session, { held: new Set(), known: null });
  }

  /** A resuming client's view is unknown: each entity not yet decided is taken as held (HeldView). */
  startResume(session: Session): void {
    if (!this.views.has(session)) this.views.set(session, { held: new Set(), known: new Set() });
  }

  /** The frames of `events` (this scope's, in seq order) the client is to get, its view updated. */
  filter(session: Session, region: RegionFilter, events: readonly Buffer[]): Buffer[] {
    const view = this.views.get(session);
    if (view === undefined) throw new Error(`${this.scope}: no region view for connection ${session.connId}`);
    const out: Buffer[] = [];
    for (const frame of events) {
      const place = this.tracker.placeOf(frame);
      if (place === null) continue;
      const { id } = place;
      const held = view.held.has(id) || (view.known !== null && !view.known.has(id));
      view.known?.add(id);
      if (place.removed) {
        if (held) out.push(frame);
        view.held.delete(id);
      } else if (place.tile !== -1 && hasTile(region.tiles, place.tile)) {
        out.push(frame);
        view.held.add(id);
      } else if (held) {
        const [seq, ts] = seqAndTs(frame);
        out.push(Buffer.from(leftAreaFrame(this.scope, seq, ts, id)));
        view.held.delete(id);
      }
    }
    return out;
  }

  /**
   * Goes live: the client's tile topics (the caller corks); its catch-up view
   * is dropped. The only place a tile topic is subscribed: the tracker
   * publishes to the tiles `tileClients` counts.
   */
  subscribe(ws: WebSocket<SocketData>, session: Session, region: RegionFilter): void {
    this.views.delete(session);
    for (const tile of region.tiles) ws.subscribe(this.tracker.topic(tile));
    this.tracker.tileClients.add(session, region.tiles);
  }

  /** Leaves the tile topics (a resync starts the view again). */
  unsubscribe(ws: WebSocket<SocketData>, session: Session, region: RegionFilter): void {
    for (const tile of region.tiles) ws.unsubscribe(this.tracker.topic(tile));
    this.tracker.tileClients.remove(session, region.tiles);
  }

  /** Whether the client follows its tile topics (every client has at least one tile). */
  isLive(ws: WebSocket<SocketData>, region: RegionFilter): boolean {
    const first = region.tiles[0];
    return first !== undefined && ws.isSubscribed(this.tracker.topic(first));
  }

  /** A bbox client starts on this scope (before it asks for the tile map): the map stays on while it is open. */
  attach(session: Session): void {
    if (!session.closed) this.clients.add(session); // a closed one was forgotten already
  }

  /**
   * Drops a closed client's view; when it was the scope's last bbox client,
   * the tile map turns off (RegionTracker.reset): the scope's events cost
   * nothing more until the next bbox client turns it on again.
   */
  forget(session: Session): void {
    this.views.delete(session);
    if (session.region !== null) this.tracker.tileClients.remove(session, session.region.tiles); // uWS dropped them
    if (this.clients.delete(session) && this.clients.size === 0) this.tracker.reset();
  }
}
