import type { RetentionPolicy } from '@hydra/backplane';
import { isScope, SCOPES, type Scope } from '@hydra/protocol';
import type { ReceivedMessage } from '@hydra/test-support';

/** One published event as the publisher sent it: its data JSON and, for entity scopes, the entity id. */
interface LoggedEvent {
  readonly json: string;
  readonly id: string | undefined;
}

export interface SnapshotPart {
  scope: string;
  seq: number;
  part: number;
  parts: number;
  complete: boolean;
  items: unknown[];
}

/** What checking sessions against the log covered, for the test's own assertions and its printout. */
export interface SessionCheckStats {
  sessions: number;
  events: number;
  completeSnapshots: number;
  /** Complete snapshots that came in more than one part. */
  multiPartSnapshots: number;
  snapshotItems: number;
}

/**
 * The publisher's log, seq → data per scope, as the test published it, for a
 * backplane whose Redis started empty (so the test's events are seqs 1, 2, …
 * of every scope and nothing else is). Checks a client session against it
 * exactly: every replayed or live event's data, and every snapshot's
 * contents rebuilt from the log at the snapshot's seq.
 *
 * The rebuild assumes nothing left the state by time during the test: entity
 * TTLs and log-scope maxAge must be far longer than the test (checked by
 * `assertNothingAges`); it applies entity upserts (no deletes are published)
 * and the log scopes' maxItems window, as snapshot.lua defines them.
 */
export class PublishedLog {
  readonly #events = new Map<Scope, LoggedEvent[]>(SCOPES.map((s) => [s, []]));
  readonly stats: SessionCheckStats = {
    sessions: 0,
    events: 0,
    completeSnapshots: 0,
    multiPartSnapshots: 0,
    snapshotItems: 0,
  };

  constructor(private readonly retention: RetentionPolicy) {}

  /** Throws unless no entity or log event can age out of a snapshot within `testMs`. */
  assertNothingAges(testMs: number): void {
    for (const scope of SCOPES) {
      const r = this.retention[scope];
      const age = r.kind === 'entity' ? r.ttlMs : r.maxAgeMs;
      if (age < 10 * testMs) throw new Error(`${scope}: retention ${age} ms is too short for a ${testMs} ms test`);
    }
  }

  record(scope: Scope, seq: number, data: Record<string, unknown>): void {
    const id = this.retention[scope].kind === 'entity' ? String(data['id']) : undefined;
    this.#list(scope)[seq - 1] = { json: JSON.stringify(data), id };
  }

  /** The last seq published of `scope` (0 before any). */
  last(scope: Scope): number {
    return this.#list(scope).length;
  }

  /** Seqs below `last(scope)` the test never recorded (someone else published, or a record was lost). */
  holes(scope: Scope): number[] {
    const list = this.#list(scope);
    const missing: number[] = [];
    for (let i = 0; i < list.length; i++) if (list[i] === undefined) missing.push(i + 1);
    return missing;
  }

  /**
   * The snapshot items expected at `seq`, as data JSON. Entity scopes: the
   * last upsert per id, sorted (snapshot order among entities is by update
   * time, which the test does not model). Log scopes: the last `maxItems`
   * events up to `seq`, oldest first (the order snapshot.lua guarantees).
   */
  expectedSnapshot(scope: Scope, seq: number): string[] {
    const list = this.#list(scope).slice(0, seq);
    const r = this.retention[scope];
    if (r.kind === 'log') return list.slice(Math.max(0, list.length - r.maxItems)).map((e) => e.json);
    const latest = new Map<string, string>();
    for (const e of list) latest.set(e.id as string, e.json);
    return [...latest.values()].sort();
  }

  /**
   * Checks one session's messages; returns a description of every
   * difference from the log (empty when the session's view is exact).
   * A snapshot cut short by the session's end (no `complete` part) is checked
   * for its part numbering only.
   */
  checkSession(label: string, messages: readonly ReceivedMessage[]): string[] {
    const problems: string[] = [];
    const open = new Map<string, SnapshotPart[]>();
    this.stats.sessions++;
    for (const m of messages) {
      if (m.type === 'snapshot') {
        const part = m.data as SnapshotPart;
        const parts = open.get(part.scope) ?? [];
        if (part.part === 1) parts.length = 0;
        parts.push(part);
        open.set(part.scope, parts);
        const problem = this.#checkParts(parts);
        if (problem) {
          problems.push(`${label}: snapshot ${part.scope}@${part.seq}: ${problem}`);
          parts.length = 0;
        } else if (part.complete) {
          problems.push(...this.#checkSnapshot(label, parts));
          parts.length = 0;
        }
        continue;
      }
      if (!isScope(m.type) || typeof m.seq !== 'number') continue;
      this.stats.events++;
      const logged = this.#list(m.type)[m.seq - 1];
      if (logged === undefined) problems.push(`${label}: ${m.type}#${m.seq} was never published`);
      else if (JSON.stringify(m.data) !== logged.json) {
        problems.push(`${label}: ${m.type}#${m.seq} data ${JSON.stringify(m.data)} != published ${logged.json}`);
      }
    }
    return problems;
  }

  /** Part numbering so far: 1, 2, … of one `parts`, one seq, `complete` on the last only. */
  #checkParts(parts: readonly SnapshotPart[]): string | undefined {
    const first = parts[0] as SnapshotPart;
    const last = parts[parts.length - 1] as SnapshotPart;
    if (last.part !== parts.length) return `part ${last.part} arrived as the ${parts.length}th`;
    if (last.seq !== first.seq || last.parts !== first.parts) return 'parts disagree on seq or parts';
    if (last.part > last.parts) return `part ${last.part} of ${last.parts}`;
    if (last.complete !== (last.part === last.parts))
      return `part ${last.part}/${last.parts} complete=${last.complete}`;
    return undefined;
  }

  /**
   * Whether a complete snapshot (every part, in order) is the log's state at
   * its seq: false for one ahead of the log, or with other contents (the
   * state of a sequence other than the log's).
   */
  matchesSnapshot(parts: readonly SnapshotPart[]): boolean {
    const { scope, seq } = parts[0] as SnapshotPart;
    if (!isScope(scope) || seq > this.last(scope)) return false;
    const items = this.#snapshotItems(scope, parts);
    const expected = this.expectedSnapshot(scope, seq);
    return items.length === expected.length && items.every((item, i) => item === expected[i]);
  }

  /** A snapshot's items as data JSON, in the order expectedSnapshot gives them. */
  #snapshotItems(scope: Scope, parts: readonly SnapshotPart[]): string[] {
    const items = parts.flatMap((p) => p.items).map((item) => JSON.stringify(item));
    if (this.retention[scope].kind === 'entity') items.sort();
    return items;
  }

  #checkSnapshot(label: string, parts: readonly SnapshotPart[]): string[] {
    const { scope, seq } = parts[0] as SnapshotPart;
    if (!isScope(scope)) return [`${label}: snapshot of unknown scope ${scope}`];
    if (seq > this.last(scope)) return [`${label}: snapshot ${scope}@${seq} is ahead of the log (${this.last(scope)})`];
    const items = this.#snapshotItems(scope, parts);
    const expected = this.expectedSnapshot(scope, seq);
    this.stats.completeSnapshots++;
    if (parts.length > 1) this.stats.multiPartSnapshots++;
    this.stats.snapshotItems += items.length;
    if (items.length === expected.length && items.every((item, i) => item === expected[i])) return [];
    const firstDiff = items.findIndex((item, i) => item !== expected[i]);
    return [
      `${label}: snapshot ${scope}@${seq} has ${items.length} items, the log gives ${expected.length}; ` +
        `first difference at ${firstDiff}: ${items[firstDiff]} != ${expected[firstDiff]}`,
    ];
  }

  #list(scope: Scope): LoggedEvent[] {
    return this.#events.get(scope) as LoggedEvent[];
  }
}
