import type { GatewayMetrics } from './metrics.js';
import type { Session } from './session.js';

/** Spacing of the heartbeat's ticks: each pings the sessions of one slot. */
const SLOT_MS = 100;

/**
 * Protocol pings from our own timer (guarantee 5): every `intervalMs` each
 * open session gets a ping frame, whether or not data flows. A session that
 * has not answered the previous ping by the next tick is a dead peer and is
 * dropped, so a dead peer lives at most two intervals, unless its ping is
 * still queued behind data uWS holds for it and that backlog shrank since
 * the previous tick: a live client on a slow link reading a large snapshot
 * has not seen the ping yet, and gets another interval each time it makes
 * progress. A client whose backlog does not shrink is dropped at that tick
 * (and the slow-consumer policy cuts a stalled one well before). One timer
 * for all sessions, never one per socket.
 *
 * The pings are spread over the interval: sessions fall into slots by
 * connection id and each tick (every SLOT_MS) pings one slot, so a gateway
 * holding 50,000 clients never stalls its live fan-out for the 50,000 socket
 * writes of a single ping sweep. Each session is still pinged once per
 * interval, at the same point of it.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private readonly slots: number;
  private tickCount = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly forEachSession: (visit: (session: Session) => void) => void,
    private readonly metrics: GatewayMetrics,
  ) {
    this.slots = Math.max(1, Math.floor(intervalMs / SLOT_MS));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs / this.slots);
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
    const slot = this.tickCount++ % this.slots;
    let pings = 0;
    let dead = 0;
    this.forEachSession((session) => {
      const ws = session.ws;
      if (session.closed || !ws || session.connId % this.slots !== slot) return;
      const backlog = ws.getBufferedAmount();
      if (session.awaitingPong) {
        if (backlog < session.pingBacklog) {
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
      pings++;
    });
    if (dead > 0) this.metrics.deadPeers.inc(dead);
    this.metrics.pingsSent.inc(pings);
  }
}
