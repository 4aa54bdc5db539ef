import { CloseCode, CloseReason } from '@hydra/protocol';
import type { GatewayMetrics } from './metrics.js';
import { pacedBudget } from './paced-sender.js';
import type { Session } from './session.js';

/** How often every client's unsent backlog is looked at. */
export const SLOW_CHECK_INTERVAL_MS = 100;
/** Consecutive intervals without progress, above the floor, that make a client a slow consumer. */
export const SLOW_STRIKES = 2;
/** Backlog below which a client is never called slow (a floor of at most a quarter of the hard limit). */
export const STALL_FLOOR_BYTES = 64 * 1024;

/** Per-client state of the check, kept on the session. */
export interface BacklogState {
  /** Unsent bytes seen at the previous check. */
  backlog: number;
  /** Consecutive checks that found the backlog above the floor and not smaller than at the check before. */
  stalls: number;
}

/** The backlog below which a client is never a slow consumer, for a hard limit of `maxBufferedBytes`. */
export function stallFloor(maxBufferedBytes: number): number {
  return Math.min(STALL_FLOOR_BYTES, Math.floor(maxBufferedBytes / 4));
}

/**
 * One check of one client: true when it is a slow consumer. A client is slow
 * when, at `SLOW_STRIKES` consecutive checks, its backlog (bytes uWS holds
 * for it beyond what the kernel took) was at least `floor` and had not
 * shrunk since the check before: it read nothing, or less than it was sent,
 * for that long. A client draining a burst (a large snapshot on a slow link)
 * shrinks its backlog and is left alone, and so is one receiving a paced
 * batch whose socket uWS drained since the check before (`drained`): the
 * pacer refills the backlog as the client reads, so its size alone does not
 * show progress there.
 */
export function isStalled(state: BacklogState, backlog: number, floor: number, drained = false): boolean {
  state.stalls = !drained && backlog >= floor && backlog >= state.backlog ? state.stalls + 1 : 0;
  state.backlog = backlog;
  return state.stalls >= SLOW_STRIKES;
}

/**
 * Most bytes one published frame adds to a subscriber's backlog beyond its
 * payload: the largest server-to-client WebSocket frame header (RFC 6455).
 */
export const FRAME_HEADER_BYTES = 10;

/**
 * Slow-consumer policy (guarantee 6), one check for all sessions, never a
 * timer per socket and no JavaScript per client per event: every 100 ms the
 * backlog (bytes uWS holds beyond what the kernel took, `getBufferedAmount`)
 * of each client that may have one is read. A client stalled for two checks
 * (see `isStalled`) is closed with 4000 "slow consumer": uWS removes it from
 * its topics at once, so the native fan-out stops copying events for it, and
 * queues the close frame behind its backlog (a client that is still reading
 * gets it; uWS closes the socket at the latest uWS's ping margin later,
 * `NativePingPlan.marginSeconds`: 8 s at the default interval). The client resumes
 * with `resume=` from history, so nothing is lost.
 *
 * The hard limit stays in uWS (`maxBackpressure` = HYDRA_MAX_BUFFERED_BYTES,
 * closeOnBackpressureLimit): a client that fills it between two checks is
 * dropped on the spot (1006). So the gateway never holds more than the limit
 * plus one message per client; a client that stops reading is usually cut
 * at a small fraction of it, within 200–300 ms of its backlog passing the floor.
 *
 * What a check costs is what may be buffered, not what is connected. A
 * socket's backlog only grows when something is written to it, so each
 * session is in one of two places:
 *
 * - watched (looked at every check, as above): since it opened, or was last
 *   handed bytes by a per-client path (snapshot, replay, ring tail, through
 *   the pacer: `watch`), or drained by uWS (which proves a backlog), or found
 *   with one after a ping the heartbeat's timer sent it (a safety net; with
 *   uWS's idle pings only for clients that send or drain, the others' pings
 *   are uWS's: the published sums below are what bound their backlog).
 *   It stays watched while its backlog is not zero or a paced batch waits.
 * - resting: a check found it with nothing buffered and nothing paced. The
 *   only other writes are the fan-out's (`app.publish`), which uWS does not
 *   report per socket; but each live event adds at most its frame to any one
 *   socket, so a resting socket's backlog is at most the bytes published since
 *   it was seen empty (`published`). It rests in a bucket due when that sum
 *   passes the floor (buckets in order, their due sums at least a granule
 *   apart, so few), and is looked at again at the first check after that:
 *   the first check at which its backlog could have passed the floor, which
 *   is when the check over every session would first have counted it too.
 *   An idle gateway's check touches no session at all.
 *
 * A backlog read is only proof of what uWS has already written: it writes
 * small published messages at the end of the event-loop iteration, not in the
 * `publish` call. So a resting session's due sum starts from the bytes
 * published before the previous timer tick (`settled`), all written since,
 * not from the bytes published so far: it may be looked at early, never late.
 * Every `app.publish` to the clients' topics must be reported to `published`.
 */
export class SlowConsumerPolicy {
  private timer: NodeJS.Timeout | null = null;
  private readonly floor: number;
  /** The paced sender's budget per client. */
  private readonly pacedBudget: number;
  /** Buckets closer than this (in published bytes) are merged: the later one is looked at early. */
  private readonly granule: number;
  private lastCheck = 0;
  /** Sessions looked at every check. */
  private readonly watched = new Set<Session>();
  /** Resting sessions by the published sum at which they are due, oldest (smallest) first. */
  private readonly resting: RestBucket[] = [];
  /** Bytes handed to `app.publish` so far, each frame with its largest header. */
  private publishedBytes = 0;
  /** `publishedBytes` at the previous timer tick, and at the one before (written to every socket since). */
  private publishedAtTick = 0;
  private settled = 0;

  constructor(
    maxBufferedBytes: number,
    private readonly metrics: GatewayMetrics,
  ) {
    this.floor = stallFloor(maxBufferedBytes);
    this.pacedBudget = pacedBudget(maxBufferedBytes);
    this.granule = Math.max(1, Math.floor(this.floor / 8));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.settled = this.publishedAtTick;
      this.publishedAtTick = this.publishedBytes;
      this.checkIfDue();
    }, SLOW_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A session opened (and was sent `connected`): watched from now until it has nothing buffered. */
  add(session: Session): void {
    this.move(session, this.watched);
  }

  /** A session closed. */
  remove(session: Session): void {
    session.slowConsumerSet?.delete(session);
    session.slowConsumerSet = null;
  }

  /**
   * The session was handed bytes outside the fan-out, or uWS drained some of
   * its backlog: it is looked at every check until it has nothing buffered.
   * Ignored for a session not added (or removed).
   */
  watch(session: Session): void {
    const set = session.slowConsumerSet;
    if (set !== null && set !== this.watched) this.move(session, this.watched);
  }

  /** `bytes` of payload were published to a topic (each subscriber gets them plus a frame header). */
  published(bytes: number): void {
    this.publishedBytes += bytes + FRAME_HEADER_BYTES;
  }

  /** Sessions looked at every check (for tests and the bench). */
  get watchedCount(): number {
    return this.watched.size;
  }

  /**
   * Runs the check if the last one is at least `SLOW_CHECK_INTERVAL_MS` old.
   * Called by the timer and after each fan-out: when the gateway is saturated
   * (slow consumers make every event cost a copy and a failed write per
   * slow client), one event-loop turn can fan out thousands of events and
   * starve timers; the check must keep its pace exactly then.
   */
  checkIfDue(): void {
    const now = performance.now();
    if (now - this.lastCheck < SLOW_CHECK_INTERVAL_MS) return;
    this.lastCheck = now;
    // Resting sessions whose backlog could have reached the floor by now are watched again first.
    while (this.resting.length > 0 && (this.resting[0] as RestBucket).dueAt <= this.publishedBytes) {
      const bucket = this.resting.shift() as RestBucket;
      for (const session of bucket.sessions) {
        session.slowConsumerSet = this.watched;
        this.watched.add(session);
      }
    }
    let paced = 0;
    // A session moved to a bucket while the watched set is walked is deleted from it: Set iteration allows that.
    for (const session of this.watched) {
      const ws = session.ws;
      if (session.closed || !ws) continue;
      if (session.outbox !== null) paced++;
      // Drains prove progress only while a paced batch is what refills the backlog (it is within the pacer's
      // budget); otherwise, e.g. behind another scope's live events, its size must shrink.
      const backlog = ws.getBufferedAmount();
      const pacedProgress = session.takeDrained() && session.outbox !== null && backlog <= this.pacedBudget;
      if (isStalled(session, backlog, this.floor, pacedProgress)) {
        this.metrics.slowConsumerCloses.inc();
        ws.end(CloseCode.SlowConsumer, CloseReason[CloseCode.SlowConsumer]);
      } else if (backlog === 0 && session.outbox === null) {
        this.rest(session);
      }
    }
    this.metrics.pacedClients.set(paced);
  }

  /** Nothing buffered, nothing paced: due again once the fan-out may have written a floor's worth to it. */
  private rest(session: Session): void {
    const dueAt = this.settled + this.floor;
    let bucket = this.resting.at(-1);
    // Due sums only grow (settled does): a bucket less than a granule earlier takes it, looked at early.
    if (bucket === undefined || dueAt - bucket.dueAt >= this.granule) {
      bucket = { dueAt, sessions: new Set() };
      this.resting.push(bucket);
    }
    session.takeDrained(); // a drain from before it rested proves nothing about a later backlog
    this.move(session, bucket.sessions);
  }

  private move(session: Session, to: Set<Session>): void {
    session.slowConsumerSet?.delete(session);
    session.slowConsumerSet = to;
    to.add(session);
  }
}

/** Resting sessions due for a look once `dueAt` bytes have been published. */
interface RestBucket {
  readonly dueAt: number;
  readonly sessions: Set<Session>;
}
