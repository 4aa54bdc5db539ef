import type { HistoryStore, RetentionPolicy } from '@hydra/backplane';
import { isScope, SCOPES, type Scope } from '@hydra/protocol';
import type { ReceivedMessage } from '@hydra/test-support';
import type { SentEvent } from './ingest-load.js';
import { PublishedLog, type SnapshotPart } from './published-log.js';

/** One `resync` a client got. */
export interface SeenResync {
  readonly scope: Scope;
  readonly reason: string;
  /**
   * What of a sequence that did not survive the client had been given in
   * `scope` since its previous resync there (or since it joined): events the
   * surviving sequence does not hold, and complete snapshots that are not its
   * state at their seq. 0: the resync took back nothing; the sequence the
   * client followed had not restarted since it was last resynchronised.
   */
  readonly tookBack: number;
}

/** What one client's view showed, beyond its problems. */
export interface ViewFindings {
  /** Every `resync` the client got, in order. */
  readonly resyncs: SeenResync[];
  /** Events the client was given that the surviving sequence does not hold (Redis lost them after delivery). */
  readonly lostSeen: number;
}

/**
 * The sequence Redis holds after a failover (its history, read from seq 1,
 * so it must retain everything the test published), set against the load
 * that produced it (IngestLoad.sent). Judges:
 *
 * - durability: which acknowledged events the surviving sequence lacks
 *   (`lostAcknowledged`), and whether it holds anything the load did not send
 *   under that seq (an acknowledged event stored twice, or another's data);
 * - each client's view (`checkView`): every event is one the load sent, under
 *   the seq its 200 named; within a scope, between resyncs, seqs run without a
 *   gap or duplicate; an event the surviving sequence does not hold (lost),
 *   or a snapshot that is not its state, is followed by `resync` with reason
 *   `stream_reset` for its scope, never passed over in silence (what each
 *   resync took back is reported: SeenResync); after the scope's last resync
 *   (or from its first snapshot, without one) the view equals the surviving
 *   sequence exactly: the snapshot rebuilt from it (PublishedLog) and every
 *   event up to its end.
 */
export class AcknowledgedViews {
  readonly #log: PublishedLog;
  readonly #stored: Map<Scope, (string | undefined)[]>;
  readonly #sent: ReadonlyMap<number, SentEvent>;

  private constructor(
    log: PublishedLog,
    stored: Map<Scope, (string | undefined)[]>,
    sent: ReadonlyMap<number, SentEvent>,
  ) {
    this.#log = log;
    this.#stored = stored;
    this.#sent = sent;
  }

  /** Reads every scope's history from seq 1 (rejects if any of it is gone). */
  static async read(
    history: HistoryStore,
    retention: RetentionPolicy,
    sent: ReadonlyMap<number, SentEvent>,
  ): Promise<AcknowledgedViews> {
    const log = new PublishedLog(retention);
    const stored = new Map<Scope, (string | undefined)[]>();
    for (const scope of SCOPES) {
      const list: (string | undefined)[] = [];
      for (let after = 0; ; ) {
        const read = await history.readAfter(scope, after, 1000);
        if (read.kind !== 'events') throw new Error(`${scope}: history after ${after} is ${read.kind}`);
        if (read.events.length === 0) break;
        for (const { seq, frame } of read.events) {
          const data = (JSON.parse(frame.toString()) as { data: Record<string, unknown> }).data;
          log.record(scope, seq, data);
          list[seq - 1] = JSON.stringify(data);
          after = seq;
        }
      }
      stored.set(scope, list);
    }
    return new AcknowledgedViews(log, stored, sent);
  }

  /** The last seq of `scope` that survived. */
  last(scope: Scope): number {
    return this.#log.last(scope);
  }

  /** Acknowledged events the surviving sequence does not hold under their seq, per scope. */
  lostAcknowledged(): Map<Scope, number> {
    const lost = new Map<Scope, number>();
    for (const e of this.#sent.values()) {
      if (e.ackedSeq !== undefined && this.#held(e.scope, e.ackedSeq) !== e.json) {
        lost.set(e.scope, (lost.get(e.scope) ?? 0) + 1);
      }
    }
    return lost;
  }

  /** Stored events after `fromSeqs` (the seqs before the load) that the load did not send under that seq. */
  foreignStored(fromSeqs: ReadonlyMap<Scope, number>): string[] {
    const problems: string[] = [];
    for (const scope of SCOPES) {
      const list = this.#stored.get(scope) as (string | undefined)[];
      for (let seq = (fromSeqs.get(scope) ?? 0) + 1; seq <= list.length; seq++) {
        const problem = this.#foreign(scope, seq, list[seq - 1]);
        if (problem) problems.push(`stored ${problem}`);
      }
    }
    return problems;
  }

  /** Checks one client's messages; returns every problem found and what it saw. */
  checkView(label: string, messages: readonly ReceivedMessage[]): { problems: string[] } & ViewFindings {
    const problems: string[] = [];
    const resyncs: SeenResync[] = [];
    let lostSeen = 0;
    const lastResync = new Map<Scope, number>();
    /** Per scope: the seq the view stands at (undefined between a resync and its snapshot). */
    const at = new Map<Scope, number | undefined>();
    /** Per scope: lost events and snapshots given since the last resync (SeenResync.tookBack). */
    const lostInSegment = new Map<Scope, number>();
    const addLost = (scope: Scope) => lostInSegment.set(scope, (lostInSegment.get(scope) ?? 0) + 1);
    /** Per scope: the parts of the snapshot being received. */
    const snapshotParts = new Map<Scope, SnapshotPart[]>();
    messages.forEach((m, i) => {
      if (m.type === 'resync') {
        const { scope, reason } = m.data as { scope: Scope; reason: string };
        const tookBack = lostInSegment.get(scope) ?? 0;
        lostInSegment.delete(scope);
        resyncs.push({ scope, reason, tookBack });
        lastResync.set(scope, i);
        at.set(scope, undefined);
        if (tookBack > 0 && reason !== 'stream_reset') {
          problems.push(`${label}: ${scope} lost events were followed by resync ${reason}, not stream_reset`);
        }
        return;
      }
      if (m.type === 'snapshot') {
        const part = m.data as SnapshotPart & { scope: Scope };
        const parts = part.part === 1 ? [] : (snapshotParts.get(part.scope) ?? []);
        parts.push(part);
        snapshotParts.set(part.scope, parts);
        if (part.complete) {
          at.set(part.scope, part.seq);
          // Its numbering and contents are checked after the last resync (checkSession); here only whether
          // it is of the surviving sequence.
          if (!this.#log.matchesSnapshot(parts)) addLost(part.scope);
        }
        return;
      }
      if (!isScope(m.type) || typeof m.seq !== 'number') return;
      const scope = m.type;
      const json = JSON.stringify(m.data);
      const foreign = this.#foreign(scope, m.seq, json);
      if (foreign) problems.push(`${label}: got ${foreign}`);
      const previous = at.get(scope);
      if (previous === undefined || m.seq !== previous + 1) {
        problems.push(`${label}: ${scope}#${m.seq} after ${previous ?? 'a resync without its snapshot'}`);
      }
      at.set(scope, m.seq);
      if (this.#held(scope, m.seq) !== json) {
        lostSeen++;
        addLost(scope);
      }
    });
    for (const scope of lostInSegment.keys())
      problems.push(`${label}: ${scope} lost events (or state) and no resync after them`);
    // After each scope's last resync the view must be the surviving sequence itself.
    const tail = messages.filter((m, i) => {
      const scope = scopeOf(m);
      return scope !== undefined && i > (lastResync.get(scope) ?? -1);
    });
    problems.push(...this.#log.checkSession(label, tail));
    for (const scope of SCOPES) {
      if (at.get(scope) !== this.last(scope)) {
        problems.push(`${label}: ${scope} ends at ${at.get(scope)}, the surviving sequence at ${this.last(scope)}`);
      }
    }
    return { problems, resyncs, lostSeen };
  }

  #held(scope: Scope, seq: number): string | undefined {
    return this.#stored.get(scope)?.[seq - 1];
  }

  /** Why `json` at `scope`#`seq` is not an event the load sent under that seq; undefined when it is. */
  #foreign(scope: Scope, seq: number, json: string | undefined): string | undefined {
    const n = json === undefined ? undefined : (JSON.parse(json) as { n?: number }).n;
    const sent = n === undefined ? undefined : this.#sent.get(n);
    if (sent === undefined || sent.scope !== scope || sent.json !== json) {
      return `${scope}#${seq} ${json}, never sent`;
    }
    if (sent.ackedSeq !== undefined && sent.ackedSeq !== seq) {
      return `${scope}#${seq} ${json}, acknowledged as #${sent.ackedSeq}`;
    }
    return undefined;
  }
}

function scopeOf(m: ReceivedMessage): Scope | undefined {
  const named = m.type === 'snapshot' || m.type === 'resync' ? (m.data as { scope?: string }).scope : m.type;
  return named !== undefined && isScope(named) ? named : undefined;
}
