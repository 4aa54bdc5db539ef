import type { Scope } from '@hydra/protocol';

/** The state of one scope at one sequence number. */
export interface ScopeSnapshot {
  scope: Scope;
  /** The `seq` of the last event whose effect the snapshot contains (0 before any event). */
  seq: number;
  /**
   * The publish time (`ts`) of event `seq`: what a client resuming from this
   * snapshot sends as proof of its position (HistoryStore.readAfter's
   * `positionTs`). 0 when `seq` is 0 or that event is no longer in the history.
   */
  seqTs: number;
  /**
   * Each item's `data` as JSON text, so a gateway can assemble the snapshot
   * message once per version without parsing. Entity scopes: the active
   * entities (latest data per id), i.e. neither deleted nor removed by the
   * expiry sweep (at seq ≤ `seq`), and updated within the TTL at read time:
   * an entity past its TTL is absent even before the sweep announced its
   * removal. Log scopes: the recent events, oldest first, within the scope's
   * retention.
   */
  items: string[];
}

export interface SnapshotStore {
  /** Reads a scope's state and its `seq` atomically (one Lua script on Redis). */
  read(scope: Scope): Promise<ScopeSnapshot>;
}
