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
    private readonly sessions: () => Iterable<Session>,
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
    for (const session of this.sessions()) {
      const ws = session.ws;
      if (session.closed || !ws) continue;
      if (session.awaitingPong) {
        this.metrics.deadPeers.inc();
        ws.close(); // no close handshake with a peer that does not answer
        continue;
      }
      session.awaitingPong = true;
      ws.ping();
      pings++;
    }
    this.metrics.pingsSent.inc(pings);
  }
}
