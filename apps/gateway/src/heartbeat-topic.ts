import { encodeHeartbeatFrame } from '@hydra/protocol';
import type { TemplatedApp } from './uws.js';

/** The uWS topic of the clients that asked for `heartbeat` messages (`heartbeat=true`). */
export const HEARTBEAT_TOPIC = '$heartbeat';

/**
 * The opt-in application heartbeat: every `intervalMs` one `heartbeat`
 * message is published to HEARTBEAT_TOPIC, which uWS writes to every
 * subscribed socket in C++: no per-client JavaScript, no per-client timer.
 * For clients that cannot see protocol pings (browsers): two missed
 * heartbeats mean a dead connection. Liveness on the server side stays the
 * protocol ping/pong (heartbeat.ts); this adds nothing to it.
 */
export class HeartbeatTopic {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly app: Pick<TemplatedApp, 'publish' | 'numSubscribers'>,
    private readonly intervalMs: number,
    /** Told the bytes of each publish: every publish to client topics is (SlowConsumerPolicy.published). */
    private readonly onPublished: (bytes: number) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Publishes one heartbeat, if anyone listens. */
  beat(): void {
    if (this.app.numSubscribers(HEARTBEAT_TOPIC) === 0) return;
    const frame = encodeHeartbeatFrame(this.now(), this.intervalMs);
    this.app.publish(HEARTBEAT_TOPIC, frame, false, false);
    this.onPublished(Buffer.byteLength(frame));
  }
}
