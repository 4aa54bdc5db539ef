import { tileOf } from '@hydra/protocol';
import type { SnapshotFrame } from './snapshot-cache.js';

/** A snapshot's entities by tile: built once per snapshot version, shared by every bbox client that joins it. */
export interface SnapshotTiles {
  /** Each entity with a valid position, and its tile. */
  readonly tileOfId: Map<string, number>;
  /** The ids and item JSON of each tile's entities, in snapshot order. */
  readonly byTile: Map<number, { ids: string[]; items: string[] }>;
}

const indexes = new WeakMap<SnapshotFrame, SnapshotTiles>();

/**
 * The tile index of `snap` (its items parsed once, cached with the snapshot
 * object, dropped with it). Items without a string `id` or a valid
 * `lat`/`lon` are in no tile: no bbox client gets them.
 */
export function snapshotTiles(snap: SnapshotFrame): SnapshotTiles {
  let index = indexes.get(snap);
  if (index !== undefined) return index;
  const tileOfId = new Map<string, number>();
  const byTile = new Map<number, { ids: string[]; items: string[] }>();
  for (const item of snap.items) {
    let data: { id?: unknown; lat?: unknown; lon?: unknown };
    try {
      data = JSON.parse(item) as typeof data;
    } catch {
      continue;
    }
    if (typeof data?.id !== 'string') continue;
    const tile = tileOf(data.lat, data.lon);
    if (tile === -1) continue;
    tileOfId.set(data.id, tile);
    let group = byTile.get(tile);
    if (group === undefined) {
      group = { ids: [], items: [] };
      byTile.set(tile, group);
    }
    group.ids.push(data.id);
    group.items.push(item);
  }
  index = { tileOfId, byTile };
  indexes.set(snap, index);
  return index;
}
