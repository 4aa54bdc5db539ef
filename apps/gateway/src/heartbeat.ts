import type { GatewayMetrics } from './metrics.js';
import type { Session } from './session.js';

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
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly forEachSession: (visit: (session: Session) => void) => void,
    private readonly metrics: GatewayMetrics,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
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
    let pings = 0;
    let dead = 0;
    this.forEachSession((session) => {
      const ws = session.ws;
      if (session.closed || !ws) return;
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
