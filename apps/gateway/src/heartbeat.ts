import type { GatewayMetrics } from './metrics.js';
import type { Session } from './session.js';

/** Spacing of the heartbeat's ticks: each pings the sessions of the slots that came due. */
const SLOT_MS = 100;

/**
 * Protocol pings from our own timer (guarantee 5): every `intervalMs` each
 * open session gets a ping frame, whether or not data flows. A session that
 * has not answered the previous ping by its next turn is a dead peer and is
 * dropped, so a dead peer lives at most two intervals, unless its ping is
 * still queued behind data uWS holds for it and the client made progress
 * since: that backlog shrank, or, while a paced snapshot or replay refills
 * it (paced-sender.ts), uWS drained some of it. A live client on a slow link
 * reading a large snapshot has not seen the ping yet, and gets another
 * interval each time it makes progress. A client that makes none is dropped
 * at that turn (and the slow-consumer policy cuts a stalled one well
 * before). One timer for all sessions, never one per socket.
 *
 * The pings are spread over the interval, and a tick costs what is due in
 * it, not what is connected: the interval is cut into slots of SLOT_MS, a
 * session belongs to slot `connId % slots` (a Set per slot, joined in `add`
 * and left in `remove`, both O(1)), and each tick walks only the slots whose
 * time came by the clock. So a gateway holding 50,000 clients never stalls
 * its live fan-out for the 50,000 socket writes of a single ping sweep, and
 * an idle one visits each client once per interval, not ten times a second.
 * Slots follow the clock, not a tick count: a busy event loop that delays
 * ticks pings the slots it skipped at the next one, so each session is
 * still pinged once per interval.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  /** The sessions of each slot. */
  private readonly wheel: Set<Session>[];
  /** Absolute number (time / slotMs) of the last slot pinged. */
  private lastSlot = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly metrics: GatewayMetrics,
    private readonly options: {
      now?: () => number;
      /**
       * Called for a session whose socket still holds unsent bytes right after
       * its ping: the slow-consumer policy's once-per-interval safety net for
       * a backlog it was not told of (slow-consumer-policy.ts).
       */
      onBacklog?: (session: Session) => void;
    } = {},
  ) {
    const slots = Math.max(1, Math.floor(intervalMs / SLOT_MS));
    this.wheel = Array.from({ length: slots }, () => new Set<Session>());
  }

  private get slotMs(): number {
    return this.intervalMs / this.wheel.length;
  }

  private now(): number {
    return this.options.now?.() ?? performance.now();
  }

  /** Pings `session` from now on, in its slot. */
  add(session: Session): void {
    this.wheel[session.connId % this.wheel.length]?.add(session);
  }

  /** Stops pinging `session` (it closed). */
  remove(session: Session): void {
    this.wheel[session.connId % this.wheel.length]?.delete(session);
  }

  start(): void {
    if (this.timer) return;
    this.lastSlot = Math.floor(this.now() / this.slotMs);
    this.timer = setInterval(() => this.tick(), this.slotMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Marks a pong: the peer is alive. */
  static onPong(session: Session): void {
    session.awaitingPong = false;
  }

  private tick(): void {
    const slots = this.wheel.length;
    const current = Math.floor(this.now() / this.slotMs);
    const due = Math.min(slots, current - this.lastSlot); // slots that came due since the last tick
    if (due <= 0) return;
    const first = this.lastSlot + 1;
    this.lastSlot = current;
    let pings = 0;
    let dead = 0;
    for (let i = 0; i < due; i++) {
      // Closing a session (ws.close) removes it from this set while it is walked: Set iteration allows that.
      for (const session of this.wheel[(first + i) % slots] as Set<Session>) {
        const outcome = this.visit(session);
        if (outcome === PING) pings++;
        else if (outcome === DEAD) dead++;
      }
    }
    if (dead > 0) this.metrics.deadPeers.inc(dead);
    this.metrics.pingsSent.inc(pings);
  }

  private visit(session: Session): Visit {
    const ws = session.ws;
    if (session.closed || !ws) return WAIT;
    if (session.awaitingPong) {
      const backlog = ws.getBufferedAmount();
      const drained = session.takeDrainedSincePing() && session.outbox !== null;
      if (backlog < session.pingBacklog || drained) {
        session.pingBacklog = backlog; // still reading towards the ping (or just reached it)
        if (backlog > 0) this.options.onBacklog?.(session);
        return WAIT;
      }
      ws.close(); // no close handshake with a peer that does not answer
      return DEAD;
    }
    session.awaitingPong = true;
    ws.ping();
    session.pingBacklog = ws.getBufferedAmount();
    session.takeDrainedSincePing();
    if (session.pingBacklog > 0) this.options.onBacklog?.(session);
    return PING;
  }
}

const WAIT = 0;
const PING = 1;
const DEAD = 2;
type Visit = typeof WAIT | typeof PING | typeof DEAD;
