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
 * The pings are spread over the interval: sessions fall into slots by
 * connection id, and each tick (every SLOT_MS) pings the slots whose time
 * came by the clock, so a gateway holding 50,000 clients never stalls its
 * live fan-out for the 50,000 socket writes of a single ping sweep. Slots
 * follow the clock, not a tick count: a busy event loop that delays ticks
 * pings the slots it skipped at the next one, so each session is still
 * pinged once per interval.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private readonly slots: number;
  /** Absolute number (time / SLOT_MS) of the last slot pinged. */
  private lastSlot = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly forEachSession: (visit: (session: Session) => void) => void,
    private readonly metrics: GatewayMetrics,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.slots = Math.max(1, Math.floor(intervalMs / SLOT_MS));
  }

  private get slotMs(): number {
    return this.intervalMs / this.slots;
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
    const current = Math.floor(this.now() / this.slotMs);
    const due = Math.min(this.slots, current - this.lastSlot); // slots that came due since the last tick
    if (due <= 0) return;
    const first = (this.lastSlot + 1) % this.slots;
    this.lastSlot = current;
    let pings = 0;
    let dead = 0;
    this.forEachSession((session) => {
      const ws = session.ws;
      if (session.closed || !ws) return;
      if ((session.connId - first + this.slots) % this.slots >= due) return; // not its turn
      const backlog = ws.getBufferedAmount();
      if (session.awaitingPong) {
        const drained = session.takeDrainedSincePing() && session.outbox !== null;
        if (backlog < session.pingBacklog || drained) {
          session.pingBacklog = backlog; // still reading towards the ping (or just reached it)
          return;
        }
        dead++;
        ws.close(); // no close handshake with a peer that does not answer
        return;
      }
      session.awaitingPong = true;
      ws.ping();
      session.pingBacklog = ws.getBufferedAmount();
      session.takeDrainedSincePing();
      pings++;
    });
    if (dead > 0) this.metrics.deadPeers.inc(dead);
    this.metrics.pingsSent.inc(pings);
  }
}
