import type { Scope } from '@hydra/protocol';

/** One event as stored in a scope's history. */
export interface HistoryEvent {
  seq: number;
  /** The wire frame, byte for byte what subscribers received (BusHandler.onEvent). */
  frame: Buffer;
}

/**
 * The outcome of HistoryStore.readAfter. `lastSeq` is always the scope's
 * current seq at the instant of the read (0 before any event).
 *
 * - `events`: the events with seq in (afterSeq, min(afterSeq + maxEvents,
 *   lastSeq)], contiguous, in seq order. Empty when afterSeq == lastSeq.
 *   When the last one's seq < lastSeq, more remain: read again after it.
 * - `gone`: afterSeq + 1 is no longer retained (beyond historyMaxItems,
 *   older than historyMaxAgeMs, or lost with a Redis restart): the reader
 *   must resynchronise from a snapshot. `oldestSeq` is the first seq still
 *   retained (readAfter(scope, oldestSeq - 1, …) would return events), or
 *   lastSeq + 1 when none is.
 * - `future`: afterSeq > lastSeq; the position was never issued by this
 *   backplane (or Redis lost its data and restarted its seqs).
 * - `reset`: only for a proven position (positionTs > 0): the stored event
 *   at afterSeq was published at another ts, so it is not the event the
 *   reader received: Redis lost events (a restart without persistence, a
 *   failover to a replica that lagged) and assigned their seqs anew. The
 *   history keeps one event before the oldest retained one, so a position
 *   whose next event is retained can always be checked; one whose event is
 *   missing nonetheless (lost) is answered `gone`.
 */
export type HistoryRead =
  | { kind: 'events'; events: HistoryEvent[]; lastSeq: number }
  | { kind: 'gone'; oldestSeq: number; lastSeq: number }
  | { kind: 'future'; lastSeq: number }
  | { kind: 'reset'; lastSeq: number };

/**
 * Replayable per-scope event history, written by the publish step itself (see
 * EventPublisher): every event (upserts, log events, entity removals) is
 * appended in the same atomic step that assigns its seq and publishes it, so
 * for any seq S the history holds exactly the frames published with seq ≤ S
 * (within retention), and a reader that replays history up to `lastSeq` then
 * continues with live frames of seq > lastSeq sees no gap and no duplicate.
 *
 * Retention per scope (RetentionPolicy): at most `historyMaxItems` events,
 * none older than `historyMaxAgeMs` (by publish ts). Both bounds are applied
 * exactly at read time, so Redis and memory answer `gone` for the same
 * positions even though storage is trimmed lazily.
 */
export interface HistoryStore {
  /**
   * Reads the events after `afterSeq` (the last seq the reader processed; 0
   * for "from the start"), at most `maxEvents` of them, in one atomic step
   * (one Lua script on Redis). `positionTs`, when > 0, is the `ts` of the
   * event at `afterSeq` as the reader received it (or a snapshot's
   * `seqTs`): the read then first proves that position is in this sequence
   * (`reset` when it is not). Rejects with a RangeError for a negative or
   * non-integer `afterSeq` or `positionTs` or a `maxEvents` below 1, and
   * when the backplane is unreachable.
   */
  readAfter(scope: Scope, afterSeq: number, maxEvents: number, positionTs?: number): Promise<HistoryRead>;
}

/** Throws the RangeError readAfter documents for bad arguments. */
export function assertReadAfterArgs(afterSeq: number, maxEvents: number, positionTs = 0): void {
  if (!Number.isSafeInteger(positionTs) || positionTs < 0) {
    throw new RangeError(`history: positionTs must be an integer >= 0, got ${positionTs}`);
  }
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
    throw new RangeError(`history: afterSeq must be an integer >= 0, got ${afterSeq}`);
  }
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new RangeError(`history: maxEvents must be an integer >= 1, got ${maxEvents}`);
  }
}
