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
 * Slow-consumer policy (guarantee 6), one check for all sessions, never a
 * timer per socket and no JavaScript per client per event: every 100 ms each
 * client's backlog is read from uWS (`getBufferedAmount`). A client stalled for two checks
 * (see `isStalled`) is closed with 4000 "slow consumer": uWS removes it from
 * its topics at once, so the native fan-out stops copying events for it, and
 * queues the close frame behind its backlog (a client that is still reading
 * gets it; uWS closes the socket at the latest 4 s later). The client resumes
 * with `resume=` from history, so nothing is lost.
 *
 * The hard limit stays in uWS (`maxBackpressure` = HYDRA_MAX_BUFFERED_BYTES,
 * closeOnBackpressureLimit): a client that fills it between two checks is
 * dropped on the spot (1006). So the gateway never holds more than the limit
 * plus one message per client; a client that stops reading is usually cut
 * at a small fraction of it, within 200–300 ms of its backlog passing the floor.
 */
export class SlowConsumerPolicy {
  private timer: NodeJS.Timeout | null = null;
  private readonly floor: number;
  /** The paced sender's budget per client. */
  private readonly pacedBudget: number;
  private lastCheck = 0;

  constructor(
    maxBufferedBytes: number,
    /** Visits every session (SessionRegistry.forEach: no allocation per check). */
    private readonly forEachSession: (visit: (session: Session) => void) => void,
    private readonly metrics: GatewayMetrics,
  ) {
    this.floor = stallFloor(maxBufferedBytes);
    this.pacedBudget = pacedBudget(maxBufferedBytes);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.checkIfDue(), SLOW_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
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
    let paced = 0;
    this.forEachSession((session) => {
      const ws = session.ws;
      if (session.closed || !ws) return;
      if (session.outbox !== null) paced++;
      // Drains prove progress only while a paced batch is what refills the backlog (it is within the pacer's
      // budget); otherwise, e.g. behind another scope's live events, its size must shrink.
      const backlog = ws.getBufferedAmount();
      const pacedProgress = session.takeDrained() && session.outbox !== null && backlog <= this.pacedBudget;
      if (isStalled(session, backlog, this.floor, pacedProgress)) {
        this.metrics.slowConsumerCloses.inc();
        ws.end(CloseCode.SlowConsumer, CloseReason[CloseCode.SlowConsumer]);
      }
    });
    this.metrics.pacedClients.set(paced);
  }
}
