import { type ConflationTierMs, type FrameEntity, frameTs, type Scope } from '@hydra/protocol';
import { ConflationBuffer, type SeqFrame } from './conflation-buffer.js';
import type { PacedSender } from './paced-sender.js';
import type { Session } from './session.js';
import type { TemplatedApp } from './uws.js';

/** Pause between two slices of one flush: the fan-out of a large flush is spread out, never one burst. */
export const FLUSH_SLICE_GAP_MS = 20;

/** The uWS topic of one scope's conflation tier (the scope's own topic is its name). */
export function conflationTopic(scope: Scope, tierMs: ConflationTierMs): string {
  return `${scope}/conflate/${tierMs}`;
}

export interface ConflationTierDeps {
  app: Pick<TemplatedApp, 'publish' | 'numSubscribers'>;
  pacer: Pick<PacedSender, 'fits' | 'send' | 'sentOutside'>;
  /** The newest seq the scope's follower applied (SequenceFollower.seq). */
  seq: () => number;
  /** The follower's epoch (SequenceFollower.epoch). */
  epoch: () => number;
  /**
   * Most bytes one slice of a flush publishes (each subscriber's backlog
   * grows by at most this much per slice; a quarter of the per-client limit
   * by default wiring, so a flush never trips HYDRA_MAX_BUFFERED_BYTES).
   */
  sliceBytes: number;
  /** Told of each flush taken: its tier and the entities in it (once per flush, whoever listens). */
  flushed?: (tierMs: ConflationTierMs, entities: number) => void;
  /** Told after each published slice: its frames, bytes, and the topic's subscribers then. */
  published: (frames: number, bytes: number, subscribers: number) => void;
  /**
   * A waiter released with more than fits its send budget was handed to the
   * pacer; once that is sent, the client has every conflated event up to
   * `seq` (whose event has the ts `ts`) and the catch-up brings it live from
   * there (ScopeCatchUp.continueConflated), as for any other position.
   */
  continueFrom: (session: Session, seq: number, ts: number, epoch: number) => void;
  setTimer?: (run: () => void, ms: number) => NodeJS.Timeout;
}

/** A flush being published slice by slice: the conflated events of seqs (boundary, upTo]. */
interface Flush {
  frames: SeqFrame[];
  next: number;
  upTo: number;
}

/**
 * One conflation tier of one entity scope on one gateway: every `tierMs`,
 * the latest event of each entity changed since the last flush is published
 * once to the tier's uWS topic (conflationTopic), which uWS writes to every
 * subscribed socket in C++. Per event the tier does one map update
 * (ConflationBuffer); per flush, one publish per changed entity; no
 * JavaScript runs per client except when a client joins.
 *
 * Guarantee (conflated, then live: no gap, no duplicate): the tier's
 * `boundary` is the seq up to which its topic has carried every change. A
 * client is attached at a position P equal to the follower's newest seq
 * (ScopeCatchUp brings it there: snapshot, conflated replay, conflated ring).
 * If P is the boundary and no flush is being published, it is subscribed at
 * once; otherwise it waits, and when the next flush that reaches P has been
 * published it is sent that flush's events with seq > P and subscribed, in
 * one synchronous step (or, when they do not fit its send budget, they are
 * paced and the catch-up continues from the flush's last seq). So a
 * conflated client gets, after its position, exactly each changed entity's
 * latest event per interval, in increasing seq order.
 *
 * Idle tiers cost nothing: a tier becomes active when its first client
 * arrives (boundary = the follower's seq, empty buffer) and goes idle at a
 * flush that finds no subscriber and no waiter.
 */
export class ConflationTier {
  readonly topic: string;
  private readonly buffer = new ConflationBuffer();
  private readonly waiters = new Map<Session, number>();
  private active = false;
  private boundary = 0;
  private timer: NodeJS.Timeout | null = null;
  private flush: Flush | null = null;
  /** The interval elapsed while a flush was still being published: the next one starts when it ends. */
  private due = false;
  /** Bumped by restart() and idle(): slices of an older flush stop. */
  private generation = 0;

  constructor(
    readonly scope: Scope,
    readonly tierMs: ConflationTierMs,
    private readonly deps: ConflationTierDeps,
  ) {
    this.topic = conflationTopic(scope, tierMs);
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Clients waiting for a flush (for tests and metrics). */
  get waiting(): number {
    return this.waiters.size;
  }

  /** One event the follower applied (in seq order); `entity` read once per gateway for every tier. */
  onEvent(seq: number, frame: Buffer, entity: FrameEntity | null): void {
    if (this.active) this.buffer.add(seq, frame, entity);
  }

  /** A client without a position (`snapshot=false`): subscribed at once, it gets the next flushes. */
  subscribe(session: Session): void {
    if (session.closed || !session.ws) return;
    this.activate();
    session.ws.subscribe(this.topic);
  }

  /**
   * A client that has every change up to `seq`, the follower's newest seq
   * (ScopeCatchUp): subscribed now if the topic has carried everything up
   * to `seq`, else when the flush that reaches it has been published.
   */
  attach(session: Session, seq: number): void {
    const ws = session.ws;
    if (session.closed || !ws) return;
    if (!this.active) {
      this.activate();
      this.boundary = seq;
    }
    if (this.flush === null && seq === this.boundary) ws.subscribe(this.topic);
    else this.waiters.set(session, seq);
  }

  /** A closed or resynchronised client stops waiting. */
  forget(session: Session): void {
    this.waiters.delete(session);
  }

  /**
   * The scope's sequence restarted: the buffer and any flush being published
   * are of the old sequence and are dropped; the boundary becomes the
   * follower's new seq. Returns the waiting clients (the caller
   * resynchronises them, with the topic's subscribers).
   */
  restart(): Session[] {
    const waiting = [...this.waiters.keys()];
    this.waiters.clear();
    this.buffer.clear();
    this.generation++;
    this.flush = null;
    this.due = false;
    this.boundary = this.deps.seq();
    return waiting;
  }

  /** Stops the timer and forgets everything (the gateway stops, or nobody listens). */
  stop(): void {
    this.generation++;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.active = false;
    this.flush = null;
    this.due = false;
    this.buffer.clear();
    this.waiters.clear();
  }

  /** The interval elapsed: publishes the changes since the last flush (called by the tier's timer). */
  tick(): void {
    if (!this.active) return;
    if (this.flush !== null) {
      this.due = true;
      return;
    }
    const subscribers = this.deps.app.numSubscribers(this.topic);
    if (subscribers === 0 && this.waiters.size === 0) {
      this.stop(); // idle: the next client starts afresh from the follower's seq
      return;
    }
    const upTo = this.deps.seq();
    if (upTo === this.boundary && this.buffer.size === 0) return;
    this.flush = { frames: this.buffer.take(), next: 0, upTo };
    this.deps.flushed?.(this.tierMs, this.flush.frames.length);
    this.publishSlice(this.generation);
  }

  private activate(): void {
    if (this.active) return;
    this.active = true;
    this.boundary = this.deps.seq();
    const timer = setInterval(() => this.tick(), this.tierMs);
    timer.unref();
    this.timer = timer;
  }

  /** Publishes the next slice of the flush (at most sliceBytes, at least one frame), then the rest later. */
  private publishSlice(generation: number): void {
    const flush = this.flush;
    if (generation !== this.generation || flush === null) return;
    const { app, sliceBytes } = this.deps;
    const subscribers = app.numSubscribers(this.topic);
    const from = flush.next;
    let bytes = 0;
    let i = from;
    while (
      i < flush.frames.length &&
      (i === from || bytes + (flush.frames[i] as SeqFrame).frame.length <= sliceBytes)
    ) {
      const { frame } = flush.frames[i] as SeqFrame;
      if (subscribers > 0) app.publish(this.topic, frame, false, false);
      bytes += frame.length;
      i++;
    }
    flush.next = i;
    if (subscribers > 0 && i > from) this.deps.published(i - from, bytes, subscribers);
    if (i < flush.frames.length) {
      const setTimer = this.deps.setTimer ?? setTimeout;
      setTimer(() => this.publishSlice(generation), FLUSH_SLICE_GAP_MS).unref();
      return;
    }
    this.finishFlush(flush);
  }

  /** The flush is out: the boundary moves to its end, and the waiters it reaches join the topic. */
  private finishFlush(flush: Flush): void {
    this.flush = null;
    this.boundary = flush.upTo;
    for (const [session, seq] of this.waiters) {
      if (seq > flush.upTo) continue; // the next flush reaches it
      this.waiters.delete(session);
      this.release(session, seq, flush.frames);
    }
    if (this.due) {
      this.due = false;
      this.tick();
    }
  }

  /** Sends a waiter at `seq` the flush's events after it, then subscribes it (or paces them: continueFrom). */
  private release(session: Session, seq: number, frames: readonly SeqFrame[]): void {
    const ws = session.ws;
    if (session.closed || !ws) return;
    const after = firstAfter(frames, seq);
    if (after === frames.length) {
      ws.subscribe(this.topic);
      return;
    }
    const tail: Buffer[] = [];
    let bytes = 0;
    for (let i = after; i < frames.length; i++) {
      const { frame } = frames[i] as SeqFrame;
      tail.push(frame);
      bytes += frame.length;
    }
    const { pacer } = this.deps;
    if (pacer.fits(session, bytes)) {
      ws.cork(() => {
        for (const frame of tail) ws.send(frame, false, false);
        ws.subscribe(this.topic);
      });
      pacer.sentOutside(session);
      return;
    }
    const last = frames[frames.length - 1] as SeqFrame;
    const epoch = this.deps.epoch();
    const continueLive = (sent: boolean) => {
      if (sent) this.deps.continueFrom(session, last.seq, frameTs(last.frame), epoch);
    };
    if (pacer.send(session, tail, continueLive)) continueLive(true);
  }
}

/** The index of the first frame with seq > `seq` in frames sorted by seq (frames.length when none). */
export function firstAfter(frames: readonly SeqFrame[], seq: number): number {
  let lo = 0;
  let hi = frames.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((frames[mid] as SeqFrame).seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
