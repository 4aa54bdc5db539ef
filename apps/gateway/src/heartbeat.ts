import type { GatewayMetrics } from './metrics.js';
import type { Session } from './session.js';

/**
 * Protocol pings from our own timer (guarantee 5): every `intervalMs` each
 * open session gets a ping frame, whether or not data flows. A session that
 * has not answered the previous ping by the next tick is a dead peer and is
 * dropped, so a dead peer lives at most two intervals. One timer for all
 * sessions, never one per socket.
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
      if (session.awaitingPong) {
        dead++;
        ws.close(); // no close handshake with a peer that does not answer
        return;
      }
      session.awaitingPong = true;
      ws.ping();
      pings++;
    });
    if (dead > 0) this.metrics.deadPeers.inc(dead);
    this.metrics.pingsSent.inc(pings);
  }
}
