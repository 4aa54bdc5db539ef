import type { Scope } from '@hydra/protocol';
import type { EncodedEvent } from './event-data.js';
import { assertRetentionPolicy, type RetentionPolicy } from './retention.js';
import type { ScopeSnapshot } from './snapshot-store.js';

/** As ENTITY_PRUNE_LIMIT on Redis: expired entities removed per publish at most. */
const ENTITY_PRUNE_LIMIT = 100;

interface EntityEntry {
  dataJson: string;
  seenAt: number;
}

interface LogEntry {
  dataJson: string;
  /** Publish ts, never below the previous entry's (as the Redis score). */
  score: number;
}

export interface MemoryScopeStateOptions {
  retention: RetentionPolicy;
  /** Clock (epoch ms); defaults to Date.now. */
  now?: () => number;
}

/**
 * The in-memory counterpart of the Redis keys of every scope: seq, entity
 * state with last-seen times, recent log events. One instance is shared by
 * MemoryEventBus (writes) and MemorySnapshotStore (reads) of one backplane,
 * in one process. Every method is synchronous, so each apply() is atomic with
 * respect to read() exactly like publish.lua and snapshot.lua on Redis, with
 * the same retention rules (expiry filtered at read time, pruned lazily at
 * publish time, at most 100 entities per publish).
 */
export class MemoryScopeState {
  readonly retention: RetentionPolicy;
  readonly #now: () => number;
  readonly #seq = new Map<Scope, number>();
  /** Per entity scope, in update order (an update moves its id to the end). */
  readonly #entities = new Map<Scope, Map<string, EntityEntry>>();
  /** Per log scope, oldest first. */
  readonly #logs = new Map<Scope, LogEntry[]>();

  constructor(options: MemoryScopeStateOptions) {
    assertRetentionPolicy(options.retention);
    this.retention = options.retention;
    this.#now = options.now ?? Date.now;
  }

  /** Assigns the scope's next seq and applies the event to its state. */
  apply(scope: Scope, event: EncodedEvent): { seq: number; ts: number } {
    const seq = (this.#seq.get(scope) ?? 0) + 1;
    this.#seq.set(scope, seq);
    const ts = this.#now();
    const r = this.retention[scope];
    if (r.kind === 'entity') {
      const entities = this.#entityMap(scope);
      const id = event.entityId as string;
      entities.delete(id);
      entities.set(id, { dataJson: event.dataJson, seenAt: ts });
      let pruned = 0;
      for (const [otherId, entry] of entities) {
        if (pruned >= ENTITY_PRUNE_LIMIT || entry.seenAt >= ts - r.ttlMs) break;
        entities.delete(otherId);
        pruned++;
      }
    } else {
      const log = this.#logList(scope);
      const newest = log[log.length - 1];
      log.push({ dataJson: event.dataJson, score: newest && newest.score > ts ? newest.score : ts });
      let expired = 0;
      while (expired < log.length && (log[expired] as LogEntry).score < ts - r.maxAgeMs) expired++;
      const excess = Math.max(expired, log.length - r.maxItems);
      if (excess > 0) log.splice(0, excess);
    }
    return { seq, ts };
  }

  /** The scope's seq and state at this instant, retention applied at `now`. */
  read(scope: Scope): ScopeSnapshot {
    const seq = this.#seq.get(scope) ?? 0;
    const now = this.#now();
    const r = this.retention[scope];
    const items: string[] = [];
    if (r.kind === 'entity') {
      for (const entry of this.#entityMap(scope).values()) {
        if (entry.seenAt >= now - r.ttlMs) items.push(entry.dataJson);
      }
    } else {
      const log = this.#logList(scope);
      for (let i = Math.max(0, log.length - r.maxItems); i < log.length; i++) {
        const entry = log[i] as LogEntry;
        if (entry.score >= now - r.maxAgeMs) items.push(entry.dataJson);
      }
    }
    return { scope, seq, items };
  }

  #entityMap(scope: Scope): Map<string, EntityEntry> {
    let map = this.#entities.get(scope);
    if (!map) {
      map = new Map();
      this.#entities.set(scope, map);
    }
    return map;
  }

  #logList(scope: Scope): LogEntry[] {
    let list = this.#logs.get(scope);
    if (!list) {
      list = [];
      this.#logs.set(scope, list);
    }
    return list;
  }
}
