import type { HistoryStore } from '@hydra/backplane';
import { frameTs, type ResyncReason, type Scope } from '@hydra/protocol';
import { describeError } from './describe-error.js';
import { FrameArena } from './frame-arena.js';
import { HotCount } from './hot-count.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import { EventRing } from './ring-buffer.js';
import type { SnapshotCache } from './snapshot-cache.js';

/** Events read from history per round trip (a gap fill here, a client's resume in scope-catch-up.ts). */
export const REPLAY_BATCH = 1000;
/** History reads (of REPLAY_BATCH) a gateway spends filling a gap in its own subscription before it resyncs instead. */
const MAX_FILL_ROUNDS = 10;

interface BusEvent {
  seq: number;
  frame: Buffer;
  ts: number;
}

/**
 * Why the sequence restarted, as the clients are told it (docs/protocol.md):
 * `stream_reset` when the backplane's sequence is proven not to be the one
 * followed (it went below a seq received, or holds another event under a seq
 * received: Redis lost events and numbered new ones with their seqs, after a
 * restart without persistence or a failover to a replica that lagged);
 * `backplane_gap` when events were missed and could not be proven filled
 * (history trimmed or unreadable, a gap too long to fill).
 */
export type RestartReason = Extract<ResyncReason, 'stream_reset' | 'backplane_gap'>;

/** How a gap fill ended: filled, or not, with the reason the sequence restarts. */
type GapFill = 'filled' | RestartReason;

/** What the follower tells the side that serves the scope's clients (scope-stream.ts). */
export interface SequenceListener {
  /**
   * Event `seq` (lastSeq + 1) is now the newest and held in the ring: fan it
   * out. `publishedTs` is its publish time from the bus, 0 for an event read
   * from history.
   */
  applied(seq: number, frame: Buffer, publishedTs: number): void;
  /**
   * The scope's sequence restarted (or a gap could not be proven filled):
   * every client of the scope must be resynchronised, once each, with
   * `reason`.
   */
  restarted(reason: RestartReason): void;
}

export interface SequenceFollowerDeps {
  history: HistoryStore;
  /** Invalidated whenever a snapshot read before may be of another sequence. */
  snapshots: Pick<SnapshotCache, 'invalidate'>;
  metrics: GatewayMetrics;
  log: Logger;
  ringCapacity?: number;
}

/**
 * Follows one scope's sequence on the backplane subscription: a ring of the
 * recent events with contiguous seqs, the newest seq and its ts, and an epoch
 * bumped whenever the sequence restarts. It knows no client: each event in
 * order goes to the listener's `applied`, each restart to its `restarted`.
 *
 * Guarantee (no silent staleness): when the seqs received skip a number, or
 * the backplane's seq moved while the subscription was down (reconcile()),
 * the missing events are read from the backplane's history and applied in
 * order (the clients see an exact continuation), provided that history is
 * provably the one this gateway was following: its event at the last seq
 * received must be byte for byte the frame received. Otherwise (Redis
 * restarted empty, history trimmed, Redis gone again) the ring restarts and
 * the listener hears `restarted` once. The same holds when the backplane's
 * sequence restarts under a live subscription (an event at or below the last
 * seq received that the ring contradicts), and when handling a gap fails
 * with an exception. After the subscription was interrupted, the first
 * event past the last seq received is proven the same way, even when its
 * seq is the next one (subscriptionInterrupted). `restarted` says `stream_reset` only when the restart
 * is proven (RestartReason), else `backplane_gap`.
 *
 * Every promise this class starts ends in a handler that logs (error name
 * and message only), counts `hydra_errors_total{kind}` and restarts the
 * sequence; none can become an unhandled rejection.
 */
export class SequenceFollower {
  private readonly ring: EventRing;
  /** The memory the ring's frames (and `lastFrame`) are copied into: never the bus' socket reads (frame-arena.ts). */
  private readonly arena = new FrameArena();
  private lastSeq = 0;
  private primed = false;
  /** The frame of event `lastSeq` when it came from the bus or history (null after a snapshot-only prime). */
  private lastFrame: Buffer | null = null;
  /** The ts of event `lastSeq` (from its frame, or the priming snapshot's seqTs); 0 when unknown. */
  private lastTs = 0;
  /** While a gap is filled from history: the live events that arrived meanwhile, applied after it. */
  private filling: BusEvent[] | null = null;
  /**
   * Set by subscriptionInterrupted(), cleared by a gap fill that proved the
   * history continues what was received: until then even the very next seq
   * is proven from history before it is applied.
   */
  private continuityUnproven = false;
  /** Counts subscriptionInterrupted() calls: a read made before the last one proves nothing about after it. */
  private interruptionCount = 0;
  /** Bumped whenever the scope's sequence restarts: a snapshot read that straddles it may be of the old one. */
  private currentEpoch = 0;
  /** Per-event counter with its scope label bound once (no label hashing per event). */
  private readonly received;

  constructor(
    readonly scope: Scope,
    private readonly deps: SequenceFollowerDeps,
    private readonly listener: SequenceListener,
  ) {
    this.ring = new EventRing(deps.ringCapacity ?? 4096);
    this.received = new HotCount(deps.metrics.eventsReceived, { scope });
  }

  /** The highest seq this gateway has received (or learnt from a snapshot). */
  get seq(): number {
    return this.lastSeq;
  }

  /** The ts of event `seq` (0 when unknown). */
  get ts(): number {
    return this.lastTs;
  }

  /** Changes at every subscriptionInterrupted(): a snapshot read before it may be of the Redis before a failover. */
  get interruptions(): number {
    return this.interruptionCount;
  }

  /** Changes whenever the sequence restarts: a read started in another epoch may be of the old sequence. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /**
   * Adjusts to the backplane's seq `seq` (its event's ts `seqTs`), read by a
   * prime (scope-stream.ts) once the backplane subscription is active, again
   * after each re-subscription, and when waiters look stuck. A seq ahead of
   * what was received means events were missed while unsubscribed (filled
   * from history when it provably continues what was received, else the
   * sequence restarts).
   *
   * A seq behind what was received is usually only an old read: live events
   * overtake the read's answer (another connection), or the read joined one
   * already in flight. It means a restarted backplane only if the history no
   * longer holds the last frame received, so that is checked (as for an
   * equal seq) before anyone is resynchronised; on a restart the scope
   * restarts at the snapshot's seq, never at the stale one received before.
   *
   * Nothing received since a snapshot (the first prime, or a restart at the
   * backplane's seq): the snapshot's event is proven by its ts instead of its
   * frame, as a resume position is (HistoryStore.readAfter's positionTs).
   */
  reconcile(seq: number, seqTs: number): void {
    if (!this.primed) {
      this.primed = true;
      if (seq > this.lastSeq) {
        this.lastSeq = seq;
        this.lastFrame = null;
        this.lastTs = seqTs;
        this.ring.clear();
      }
      return;
    }
    if (this.filling !== null) return; // a gap fill is running; it reconciles
    if (this.lastFrame === null && this.lastTs === 0) {
      // Nothing received since the last snapshot-only prime, and no ts to prove it with. A seq below the
      // snapshot's proves a restart by number alone (one sequence never goes back).
      if (seq < this.lastSeq) {
        this.onGap(seq, null, 'stream_reset', { ts: seqTs, cause: 'the backplane seq went below the snapshot' });
        this.continuityUnproven = false; // the snapshot was read after the last interruption (ScopeStream.prime)
      } else if (seq > this.lastSeq) this.fillGap(seq, null, seq, seqTs);
      return;
    }
    // Same or lower seq: verify the history still holds the event last received (a Redis restarted empty
    // may be behind it, or may have counted back up to it).
    this.fillGap(Math.max(seq, this.lastSeq), null, seq, seqTs);
  }

  /**
   * The subscription was interrupted (its connection closed, or it was
   * renewed): what arrives next may come from another Redis, which a
   * failover to a lagging replica left with another sequence under the same
   * numbers, and which may already have numbered past `seq`. So the next
   * event is not taken on its seq alone, even when it is `seq + 1`: it goes
   * through a gap fill, which proves from history that the event at `seq` is
   * still the one received (else the sequence restarts, `stream_reset`).
   */
  subscriptionInterrupted(): void {
    this.interruptionCount++;
    this.continuityUnproven = true;
  }

  /** One live event from the backplane, in seq order. */
  onEvent(seq: number, frame: Buffer, publishedTs: number): void {
    this.received.inc();
    if (this.filling !== null) {
      this.filling.push({ seq, frame, ts: publishedTs });
      return;
    }
    const continuing = this.primed || this.ring.length > 0;
    if (continuing && seq <= this.lastSeq) {
      // Already covered by a snapshot or received before, unless the ring contradicts it.
      if (this.contradictsRing(seq, frame)) {
        this.onGap(seq, frame, 'stream_reset', {
          cause: 'the backplane restarted its sequence under a live subscription',
        });
        this.continuityUnproven = false; // the new sequence starts at an event of the current subscription
      }
      return;
    }
    if (continuing && (seq !== this.lastSeq + 1 || this.continuityUnproven)) {
      this.fillGap(seq, { seq, frame, ts: publishedTs });
      return;
    }
    this.apply(seq, frame, publishedTs);
  }

  /** The ts of event `seq` as this gateway holds it (ring, or the newest event's), 0 when it does not. */
  tsAt(seq: number): number {
    const frame = this.ring.frameAt(seq);
    if (frame !== undefined) return frameTs(frame);
    return seq === this.lastSeq ? this.lastTs : 0;
  }

  /** Whether the ring holds every event after `seq` up to the newest. */
  ringCovers(seq: number): boolean {
    if (seq === this.lastSeq) return true;
    const first = this.ring.firstSeq;
    return first !== undefined && seq >= first - 1 && seq <= this.lastSeq;
  }

  /** Calls `visit` for every event the ring holds after `seq`, oldest first. */
  forEachAfter(seq: number, visit: (frame: Buffer) => void): void {
    this.ring.forEachAfter(seq, visit);
  }

  /**
   * Snapshot reads started before now may be of a sequence the backplane has
   * not reached (an old Redis', typically): their epoch ends and the cached
   * snapshot is dropped. The ring and positions stay.
   */
  distrustReads(): void {
    this.currentEpoch++;
    this.deps.snapshots.invalidate();
  }

  /** Applies the next event (seq = lastSeq + 1) and hands it to the listener (the copy the ring keeps). */
  private apply(seq: number, received: Buffer, publishedTs: number): void {
    const frame = this.arena.keep(received);
    this.ring.push(seq, frame);
    this.lastSeq = seq;
    this.lastFrame = frame;
    this.lastTs = publishedTs > 0 ? publishedTs : frameTs(frame);
    this.listener.applied(seq, frame, publishedTs);
  }

  /**
   * Whether an event at or below `lastSeq` proves the backplane restarted its
   * sequence: the ring holds another frame at that seq, or the event is older
   * than the ring (one subscription delivers a scope's events in seq order,
   * so the same sequence never does that). Without a ring (right after a
   * snapshot) it is an event the snapshot covers.
   */
  private contradictsRing(seq: number, frame: Buffer): boolean {
    const first = this.ring.firstSeq;
    if (first === undefined) return false;
    if (seq < first) return true;
    const held = this.ring.frameAt(seq);
    return held !== undefined && !held.equals(frame);
  }

  /**
   * Events after `lastSeq` up to `upTo` were not received: read them from
   * history and apply them in order (live events arriving meanwhile are held
   * and applied after). If the history cannot be proven to continue what this
   * gateway received, or cannot be read, the sequence restarts at the first
   * event held, else at `restartAt` (the backplane's seq when known; `upTo`
   * by default), whose event's ts is `restartTs` (0: unknown).
   */
  private fillGap(upTo: number, first: BusEvent | null, restartAt = upTo, restartTs = 0): void {
    const held: BusEvent[] = first ? [first] : [];
    this.filling = held;
    const from = this.lastSeq;
    const interruptions = this.interruptionCount;
    let reason: RestartReason = 'backplane_gap';
    this.readGap(upTo)
      .catch((err: unknown): GapFill => {
        this.deps.log.warn({ err: describeError(err), scope: this.scope }, 'history read failed while filling a gap');
        return 'backplane_gap';
      })
      .then((outcome) => {
        if (this.filling === held) this.filling = null;
        const filled = outcome === 'filled';
        if (filled) {
          // Proven against a history read after the last interruption: what follows continues it.
          if (interruptions === this.interruptionCount) this.continuityUnproven = false;
          if (this.lastSeq > from) {
            this.deps.log.info({ scope: this.scope, from, to: this.lastSeq }, 'subscription gap filled from history');
          }
        } else {
          reason = outcome;
          const head = held.shift();
          if (head) this.onGap(head.seq, head.frame, outcome);
          else this.onGap(restartAt, null, outcome, { ts: restartTs });
          // Restarted at an event (or seq) of the subscription the fill began on: what came after another
          // interruption must still prove itself.
          this.continuityUnproven = interruptions !== this.interruptionCount;
        }
        // Held events the history already supplied are not replayed.
        for (const e of held) if (!filled || e.seq > this.lastSeq) this.onEvent(e.seq, e.frame, e.ts);
      })
      .catch((err: unknown) => this.recover(err, held, reason, interruptions));
  }

  /**
   * An exception while ending a gap fill (onGap, or the replay of the held
   * events): logged and counted, then the sequence restarts at the newest
   * event known and the listener hears `restarted` (with the gap's reason,
   * when the gap was found to be one).
   */
  private recover(err: unknown, held: readonly BusEvent[], reason: RestartReason, interruptions: number): void {
    const { metrics, log } = this.deps;
    metrics.errors.inc({ kind: 'gap_fill' });
    log.error({ err: describeError(err), scope: this.scope }, 'handling a gap failed; resynchronising the scope');
    try {
      if (this.filling === held) this.filling = null;
      const newest = held.at(-1);
      if (newest !== undefined && newest.seq > this.lastSeq) this.restartAt(newest.seq, newest.frame);
      else this.restartAt(this.lastSeq, null);
      this.continuityUnproven = interruptions !== this.interruptionCount;
      this.listener.restarted(reason);
    } catch (again) {
      metrics.errors.inc({ kind: 'gap_fill' });
      log.error({ err: describeError(again), scope: this.scope }, 'resynchronising the scope failed');
    }
  }

  /**
   * Applies history events after `lastSeq` up to `upTo`, provided the
   * history holds the event at `lastSeq` this gateway followed: its frame
   * (byte for byte), else, after a snapshot, its ts (the history checks it).
   * Not filled: the history is proven another sequence (`stream_reset`: it
   * holds another event at `lastSeq`, or ends below it), or it cannot prove
   * the gap filled (`backplane_gap`: gone, a hole, nothing to prove with, too
   * long).
   */
  private async readGap(upTo: number): Promise<GapFill> {
    const frame = this.lastFrame;
    const proofTs = frame === null ? this.lastTs : 0;
    if (this.lastSeq > 0 && frame === null && proofTs === 0) return 'backplane_gap'; // nothing to prove with
    // With a frame, read from just below `lastSeq` to compare it; with a ts, the first read checks it.
    let after = frame === null ? this.lastSeq : Math.max(0, this.lastSeq - 1);
    let verified = this.lastSeq === 0 || frame === null;
    for (let round = 0; round < MAX_FILL_ROUNDS; round++) {
      const positionTs = round === 0 ? proofTs : 0;
      const read = await this.deps.metrics.timeRedis('history', () =>
        this.deps.history.readAfter(this.scope, after, REPLAY_BATCH, positionTs),
      );
      // `future`: the backplane's seq is below one this gateway followed; `reset`: another event at `lastSeq`.
      if (read.kind === 'future' || read.kind === 'reset') return 'stream_reset';
      if (read.kind !== 'events') return 'backplane_gap';
      for (const e of read.events) {
        if (e.seq < this.lastSeq) continue;
        if (e.seq === this.lastSeq) {
          if (frame === null) return 'backplane_gap';
          if (!e.frame.equals(frame)) return 'stream_reset';
          verified = true;
          continue;
        }
        if (!verified || e.seq !== this.lastSeq + 1) return 'backplane_gap';
        this.apply(e.seq, e.frame, 0);
      }
      // Read from just below `lastSeq`, and nothing there: the backplane's seq is below it.
      if (!verified) return read.events.length === 0 && read.lastSeq < this.lastSeq ? 'stream_reset' : 'backplane_gap';
      if (this.lastSeq >= upTo) return 'filled';
      if (read.events.length === 0) return 'backplane_gap';
      after = this.lastSeq;
    }
    return 'backplane_gap';
  }

  /**
   * Events between the last one received and `seq` are missing. The ring
   * restarts at `seq`, and the listener hears `restarted`, so no client is
   * left silently stale.
   */
  private onGap(
    seq: number,
    frame: Buffer | null,
    reason: RestartReason,
    {
      ts = 0,
      cause = reason === 'stream_reset'
        ? 'the backplane sequence is not the one followed (Redis lost events)'
        : 'sequence gap on the backplane subscription',
    }: { ts?: number; cause?: string } = {},
  ): void {
    this.deps.metrics.busGaps.inc({ scope: this.scope });
    this.deps.log.warn(
      { scope: this.scope, expected: this.lastSeq + 1, got: seq, reason },
      `${cause}; resynchronising clients`,
    );
    this.restartAt(seq, frame, ts);
    this.listener.restarted(reason);
  }

  /**
   * The ring restarts at `seq` (holding `frame` when known; else `ts` is its
   * event's, 0 when unknown); snapshots read before are of the old sequence.
   */
  private restartAt(seq: number, received: Buffer | null, ts = 0): void {
    const frame = received === null ? null : this.arena.keep(received);
    this.currentEpoch++;
    this.ring.clear();
    this.lastSeq = seq;
    this.lastFrame = frame;
    this.lastTs = frame ? frameTs(frame) : ts;
    if (frame) this.ring.push(seq, frame);
    this.deps.snapshots.invalidate();
  }
}
