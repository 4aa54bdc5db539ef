import { encodeEventFrame, type Scope } from '@hydra/protocol';
import { encodeRemovalData } from './entity-removal.js';
import type { EncodedEvent } from './event-data.js';
import type { HistoryEvent, HistoryRead } from './history-store.js';
import { assertRetentionPolicy, type RetentionPolicy } from './retention.js';
import type { ScopeSnapshot } from './snapshot-store.js';

interface EntityEntry {
  dataJson: string;
  seenAt: number;
}

interface LogEntry {
  dataJson: string;
  /** Publish ts, never below the previous entry's (as the Redis score). */
  score: number;
}

interface HistoryEntry {
  seq: number;
  ts: number;
  frame: Buffer;
}

/** Entries of one scope's history, oldest first, with contiguous seqs from `entries[head]`. */
interface HistoryLog {
  entries: HistoryEntry[];
  head: number;
}

/** One event stored by apply() or expire(): what the bus delivers. */
export interface AppliedEvent {
  seq: number;
  ts: number;
  frame: Buffer;
}

export interface MemoryScopeStateOptions {
  retention: RetentionPolicy;
  /** Clock (epoch ms); defaults to Date.now. Tests inject one to age entities and history. */
  now?: () => number;
}

/**
 * The in-memory counterpart of the Redis keys of every scope: seq, entity
 * state with last-seen times, recent log events, event history. One instance
 * is shared by MemoryEventBus (writes), MemorySnapshotStore and
 * MemoryHistoryStore (reads) of one backplane, in one process. Every method
 * is synchronous, so each apply() / expire() is atomic with respect to reads
 * exactly like publish.lua / expire.lua against snapshot.lua / history.lua,
 * with the same retention rules: entity expiry filtered at read time and
 * announced only by expire(); history bounds applied exactly at read time,
 * storage trimmed on append.
 */
export class MemoryScopeState {
  readonly retention: RetentionPolicy;
  readonly now: () => number;
  readonly #seq = new Map<Scope, number>();
  /** Per entity scope, in update order (an update moves its id to the end). */
  readonly #entities = new Map<Scope, Map<string, EntityEntry>>();
  /** Per log scope, oldest first. */
  readonly #logs = new Map<Scope, LogEntry[]>();
  readonly #history = new Map<Scope, HistoryLog>();

  constructor(options: MemoryScopeStateOptions) {
    assertRetentionPolicy(options.retention);
    this.retention = options.retention;
    this.now = options.now ?? Date.now;
  }

  /**
   * Assigns the scope's next seq, applies the event to its state, appends its
   * frame to the history. Returns null (nothing stored, no seq consumed) for
   * the delete of an entity not in the state.
   */
  apply(scope: Scope, event: EncodedEvent): AppliedEvent | null {
    const ts = this.now();
    const r = this.retention[scope];
    let dataJson = event.dataJson;
    if (r.kind === 'entity') {
      const entities = this.#entityMap(scope);
      const id = event.entityId as string;
      if (event.op === 'delete') {
        if (!entities.delete(id)) return null;
        dataJson = encodeRemovalData(id, 'deleted');
      } else {
        entities.delete(id);
        entities.set(id, { dataJson, seenAt: ts });
      }
    } else {
      const log = this.#logList(scope);
      const newest = log[log.length - 1];
      log.push({ dataJson, score: newest && newest.score > ts ? newest.score : ts });
      let expired = 0;
      while (expired < log.length && (log[expired] as LogEntry).score < ts - r.maxAgeMs) expired++;
      const excess = Math.max(expired, log.length - r.maxItems);
      if (excess > 0) log.splice(0, excess);
    }
    return this.#append(scope, ts, dataJson);
  }

  /**
   * Removes up to `limit` entities of an entity scope whose last update is
   * older than the TTL, oldest first; each gets its seq and history entry
   * (reason "expired"), all stamped with the same `now`.
   */
  expire(scope: Scope, limit: number): AppliedEvent[] {
    const r = this.retention[scope];
    if (r.kind !== 'entity') return [];
    const now = this.now();
    const entities = this.#entityMap(scope);
    const expired: string[] = [];
    // Update order is last-seen order (unless the clock stepped back, which
    // only delays an expiry by the step), so the expired ones are a prefix.
    for (const [id, entry] of entities) {
      if (expired.length >= limit || entry.seenAt >= now - r.ttlMs) break;
      expired.push(id);
    }
    return expired.map((id) => {
      entities.delete(id);
      return this.#append(scope, now, encodeRemovalData(id, 'expired'));
    });
  }

  /** The scope's seq and state at this instant, retention applied at `now`. */
  read(scope: Scope): ScopeSnapshot {
    const seq = this.#seq.get(scope) ?? 0;
    const now = this.now();
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
    return { scope, seq, seqTs: this.#historyEntry(scope, seq)?.ts ?? 0, items };
  }

  /** The history entry of `seq`, if still stored. */
  #historyEntry(scope: Scope, seq: number): HistoryEntry | undefined {
    const { entries, head } = this.#historyLog(scope);
    const headSeq = entries[head]?.seq;
    return headSeq === undefined || seq < headSeq ? undefined : entries[head + seq - headSeq];
  }

  /** history.lua's answer, computed the same way (see HistoryStore.readAfter). */
  readHistory(scope: Scope, afterSeq: number, maxEvents: number, positionTs = 0): HistoryRead {
    const lastSeq = this.#seq.get(scope) ?? 0;
    if (afterSeq > lastSeq) return { kind: 'future', lastSeq };
    const r = this.retention[scope];
    const cutoff = this.now() - r.historyMaxAgeMs;
    const floor = Math.max(1, lastSeq - r.historyMaxItems + 1);
    const { entries, head } = this.#historyLog(scope);
    const headSeq = entries[head]?.seq ?? lastSeq + 1;
    const first = afterSeq + 1;
    const entryOf = (seq: number) => this.#historyEntry(scope, seq);
    // As history.lua: a proof is checked against the entry at the position itself (trimming keeps one before
    // the oldest retained); a position whose entry is gone cannot be checked.
    let unprovable = false;
    if (positionTs > 0 && afterSeq > 0) {
      const proof = entryOf(afterSeq);
      if (proof === undefined) unprovable = true;
      else if (proof.ts !== positionTs) return { kind: 'reset', lastSeq };
    }
    if (afterSeq === lastSeq && !unprovable) return { kind: 'events', events: [], lastSeq };
    const firstEntry = entryOf(first);
    if (!unprovable && first >= floor && firstEntry !== undefined && firstEntry.ts >= cutoff) {
      const upto = Math.min(afterSeq + maxEvents, lastSeq);
      const events: HistoryEvent[] = [];
      for (let seq = first; seq <= upto; seq++) {
        const entry = entryOf(seq) as HistoryEntry;
        events.push({ seq, frame: entry.frame });
      }
      return { kind: 'events', events, lastSeq };
    }
    let oldestSeq = lastSeq + 1;
    for (let seq = Math.max(floor, headSeq); seq <= lastSeq; seq++) {
      if ((entryOf(seq) as HistoryEntry).ts >= cutoff) {
        oldestSeq = seq;
        break;
      }
    }
    return { kind: 'gone', oldestSeq, lastSeq };
  }

  #append(scope: Scope, ts: number, dataJson: string): AppliedEvent {
    const seq = (this.#seq.get(scope) ?? 0) + 1;
    this.#seq.set(scope, seq);
    const frame = Buffer.from(encodeEventFrame(scope, seq, ts, dataJson));
    const r = this.retention[scope];
    const log = this.#historyLog(scope);
    log.entries.push({ seq, ts, frame });
    // Trim by length exactly and by age from the head (the new entry is never aged), keeping one entry
    // before the oldest retained one, as lib/history.lua does: the anchor a reader's proof is checked against.
    const cutoff = ts - r.historyMaxAgeMs;
    let head = Math.max(log.head, log.entries.length - r.historyMaxItems - 1);
    while (head + 1 < log.entries.length && (log.entries[head + 1] as HistoryEntry).ts < cutoff) head++;
    log.head = head;
    // Compact once the dead prefix outweighs the live entries (amortised O(1)).
    if (log.head > 1024 && log.head * 2 > log.entries.length) {
      log.entries = log.entries.slice(log.head);
      log.head = 0;
    }
    return { seq, ts, frame };
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

  #historyLog(scope: Scope): HistoryLog {
    let log = this.#history.get(scope);
    if (!log) {
      log = { entries: [], head: 0 };
      this.#history.set(scope, log);
    }
    return log;
  }
}
