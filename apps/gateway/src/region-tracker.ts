import { encodeRemovalData } from '@hydra/backplane';
import {
  type EventPlace,
  encodeEventFrame,
  frameSeq,
  frameTs,
  readEventPlace,
  type Scope,
  TILE_COUNT,
} from '@hydra/protocol';
import { HotCount } from './hot-count.js';
import type { GatewayMetrics } from './metrics.js';
import { snapshotTiles } from './region-snapshot-index.js';
import { TileSubscriptions } from './region-tile-subscriptions.js';
import type { SequenceFollower } from './sequence-follower.js';
import type { SnapshotCache } from './snapshot-cache.js';
import type { TemplatedApp } from './uws.js';

/** Bound on the wait for events a seeding snapshot is ahead of (they are in flight from the backplane). */
const SEED_AHEAD_WAIT_MS = 3000;
/** Snapshot reads a seeding makes before it gives up (the client's join then fails: 1013). */
const SEED_ATTEMPTS = 3;

/** The uWS topic of one tile of an entity scope. */
export function tileTopic(scope: Scope, tile: number): string {
  return `${scope}/tile/${tile}`;
}

export interface RegionTrackerDeps {
  app: Pick<TemplatedApp, 'publish'>;
  follower: Pick<SequenceFollower, 'seq' | 'epoch' | 'ringCovers' | 'forEachAfter'>;
  snapshots: Pick<SnapshotCache, 'get' | 'read'>;
  metrics: GatewayMetrics;
  /** Whether live frames go out deflated to the clients that negotiated it (HYDRA_COMPRESSION; PacedSender.compress). */
  compress?: boolean;
  /** Told the bytes of each frame handed to uWS (the slow-consumer check counts every publish). */
  afterFanOut?: (frameBytes: number) => void;
  /** Told the number of tiles with a live client whenever it may have changed (the hydra_region_tile_topics gauge). */
  tileTopics?: (topics: number) => void;
}

/**
 * Publishes one entity scope's events to its tile topics, once per gateway:
 * it knows the tile of every entity of the scope (seeded from a snapshot,
 * then kept by every event applied in seq order), and for each event
 *
 * - an update in tile T publishes the event's frame to T's topic; when the
 *   entity was in another tile P, a `left_area` removal (the event's seq and
 *   ts) goes to P's topic first, so a client of both P and T ends up holding
 *   the entity;
 * - an update without a valid position publishes a `left_area` removal to P;
 * - a removal (`deleted`, `expired`) goes to P's topic.
 *
 * Guarantee: while `on`, the tile map is exact at the follower's seq, so a
 * client whose view of the scope is "the entities in my tiles" at some seq S
 * it holds, subscribed to its tile topics when the follower is at S, keeps
 * exactly that view. The tracker turns on at the first bbox client
 * (ensureOn; before that it costs nothing), off when the last one closes
 * (RegionCatchUp.forget) and when the scope's sequence restarts (reset;
 * every client of the scope is resynchronised then, and the bbox clients'
 * resyncs turn it on again).
 *
 * Per event, per gateway and never per client: one byte scan of the frame
 * (readEventPlace: id, lat, lon, removed), one map lookup (a write only when
 * the entity changes tile), and one or two uWS publishes of frames it does
 * not re-encode (the event's own; a `left_area` is built only for a tile
 * with clients). Whether a tile has clients is read from `tileClients`,
 * kept by RegionCatchUp as clients go live and leave: no call into uWS for
 * a tile nobody follows.
 */
export class RegionTracker {
  private readonly tiles = new Map<string, number>();
  private on = false;
  private seeding: Promise<void> | null = null;
  /** A seed from a snapshot ahead of the follower: taken when the follower applies its seq. */
  private ahead: {
    seq: number;
    epoch: number;
    tiles: Map<string, number>;
    settle: (error: Error | null) => void;
  } | null = null;
  private readonly topics: (string | undefined)[] = new Array(TILE_COUNT);
  /** The live bbox clients of each tile (RegionCatchUp.subscribe and unsubscribe keep it). */
  readonly tileClients: TileSubscriptions<object>;
  private readonly delivered: HotCount;
  private readonly deliveredBytes: HotCount;
  private readonly eventPublishes: HotCount;
  private readonly leftAreaPublishes: HotCount;

  constructor(
    readonly scope: Scope,
    private readonly deps: RegionTrackerDeps,
  ) {
    this.tileClients = new TileSubscriptions(deps.tileTopics ?? (() => {}));
    const { metrics } = deps;
    this.delivered = new HotCount(metrics.messagesDelivered, { scope });
    this.deliveredBytes = new HotCount(metrics.bytesDelivered, { scope });
    this.eventPublishes = new HotCount(metrics.regionTilePublishes, { scope, kind: 'event' });
    this.leftAreaPublishes = new HotCount(metrics.regionTilePublishes, { scope, kind: 'left_area' });
  }

  /** Whether the tile map is exact at the follower's seq (tile topics are being published). */
  get isOn(): boolean {
    return this.on;
  }

  /** Entities with a position the tracker knows of (a gauge's worth; tests read it). */
  get size(): number {
    return this.tiles.size;
  }

  topic(tile: number): string {
    let topic = this.topics[tile];
    if (topic === undefined) {
      topic = tileTopic(this.scope, tile);
      this.topics[tile] = topic;
    }
    return topic;
  }

  /** Where `frame` (an event of this scope) puts its entity (a byte scan, readEventPlace). */
  placeOf(frame: Buffer): EventPlace | null {
    return readEventPlace(frame);
  }

  /**
   * Resolves once the tracker is on (at once when it is). Rejects when no
   * snapshot could be joined to the follower's events (SEED_ATTEMPTS reads);
   * the caller then fails the client's join, as a failed snapshot join does.
   */
  ensureOn(): Promise<void> {
    if (this.on) return Promise.resolve();
    this.seeding ??= this.seed().finally(() => {
      this.seeding = null;
    });
    return this.seeding;
  }

  /**
   * Off: the scope's sequence restarted (the map may be wrong), or its last
   * bbox client closed. On again when a bbox client's join asks (ensureOn).
   */
  reset(): void {
    this.on = false;
    this.tiles.clear();
    this.ahead?.settle(new Error(`${this.scope}: the sequence restarted while the region map was seeded`));
  }

  /** The follower applied event `seq` (ScopeStream.applied): publish it to its tiles, before waiters subscribe. */
  applied(seq: number, frame: Buffer): void {
    if (!this.on) {
      const ahead = this.ahead;
      if (ahead === null) return;
      if (this.deps.follower.epoch !== ahead.epoch) {
        ahead.settle(new Error(`${this.scope}: the sequence restarted while the region map was seeded`));
      } else if (seq >= ahead.seq) {
        for (const [id, tile] of ahead.tiles) this.tiles.set(id, tile);
        this.on = true;
        ahead.settle(null);
      }
      return;
    }
    const place = readEventPlace(frame);
    if (place === null) return;
    const { id, tile } = place;
    const was = this.tiles.get(id);
    if (place.removed) {
      if (was !== undefined) {
        this.tiles.delete(id);
        this.publish(was, frame, this.eventPublishes);
      }
      return;
    }
    // Most updates stay in their tile: no map write, no left_area.
    if (was === tile) {
      this.publish(tile, frame, this.eventPublishes);
      return;
    }
    if (was !== undefined && this.tileClients.clientsOf(was) > 0) {
      this.publish(was, Buffer.from(leftAreaFrame(this.scope, seq, frameTs(frame), id)), this.leftAreaPublishes);
    }
    if (tile === -1) {
      if (was !== undefined) this.tiles.delete(id);
      return;
    }
    this.tiles.set(id, tile);
    this.publish(tile, frame, this.eventPublishes);
  }

  /** Hands `frame` to uWS for the tile's clients, if it has any. */
  private publish(tile: number, frame: Buffer, counter: HotCount): void {
    const clients = this.tileClients.clientsOf(tile);
    if (clients === 0) return;
    this.deps.app.publish(this.topic(tile), frame, false, this.deps.compress === true);
    counter.inc();
    this.delivered.inc(clients);
    this.deliveredBytes.inc(clients * frame.length);
    this.deps.afterFanOut?.(frame.length);
  }

  /** Builds the map from a snapshot joined to the follower's ring (see the class guarantee). */
  private async seed(): Promise<void> {
    const { follower, snapshots } = this.deps;
    for (let attempt = 0; attempt < SEED_ATTEMPTS && !this.on; attempt++) {
      const epoch = follower.epoch;
      const snap = attempt === 0 ? await snapshots.get(follower.seq) : await snapshots.read();
      if (this.on) return;
      if (epoch !== follower.epoch) continue;
      const index = snapshotTiles(snap);
      if (snap.seq > follower.seq) {
        if (await this.awaitFollower(snap.seq, epoch, index.tileOfId)) return;
        continue;
      }
      if (!follower.ringCovers(snap.seq)) continue;
      this.tiles.clear();
      for (const [id, tile] of index.tileOfId) this.tiles.set(id, tile);
      // The ring's events after the snapshot, applied to the map only (no client is on a tile topic yet).
      follower.forEachAfter(snap.seq, (frame) => {
        const place = this.placeOf(frame);
        if (place === null) return;
        if (place.tile === -1) this.tiles.delete(place.id);
        else this.tiles.set(place.id, place.tile);
      });
      this.on = true;
      return;
    }
    if (!this.on) throw new Error(`${this.scope}: no snapshot could be joined to the live events for the region map`);
  }

  /** Waits (SEED_AHEAD_WAIT_MS at most) for the follower to apply `seq` in `epoch`; true once the map is on. */
  private awaitFollower(seq: number, epoch: number, tiles: Map<string, number>): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(new Error('timeout')), SEED_AHEAD_WAIT_MS);
      const settle = (error: Error | null) => {
        clearTimeout(timer);
        if (this.ahead?.settle === settle) this.ahead = null;
        resolve(error === null);
      };
      this.ahead = { seq, epoch, tiles, settle };
    });
  }
}

/** A `left_area` removal of `id` at event `seq` (ts `ts`) of `scope`. */
export function leftAreaFrame(scope: Scope, seq: number, ts: number, id: string): string {
  return encodeEventFrame(scope, seq, ts, encodeRemovalData(id, 'left_area'));
}

/** The seq and ts of an event frame (for a `left_area` made during a catch-up). */
export function seqAndTs(frame: Buffer): [number, number] {
  return [frameSeq(frame), frameTs(frame)];
}
