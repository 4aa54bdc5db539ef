/**
 * How a ping interval maps onto uWS's own idle pings (`idleTimeout` +
 * `sendPingsAutomatically`), which cost no JavaScript per connection.
 *
 * uWS keeps one timer per socket in C++, reset whenever a frame arrives from
 * the client (a pong included) or uWS drains some of its backlog. When it
 * runs out uWS writes a ping and arms it again for the margin; when that
 * runs out too, with nothing heard in between, it closes the socket (1006,
 * "WebSocket timed out from inactivity"). Its timers tick every 4 s
 * (uSockets' granularity), and uWS splits `idleTimeout` into
 * `idleTimeout - margin` and a margin of 4, 8 or 16 s (`marginFor`).
 *
 * So an interval maps onto the largest multiple of 4 s not above it
 * (`pingEverySeconds`): a client that answers its pings is pinged every
 * that many seconds (12 s for the default 15 s), since the tick before its
 * pong starts the next wait. uWS refuses an idleTimeout below 8 s, so
 * intervals under 8 s (tests) have no plan: the gateway's own timer pings
 * and tracks pongs (heartbeat.ts).
 */
export interface NativePingPlan {
  /** `idleTimeout` for uWS's WebSocket behaviour (seconds). */
  readonly idleTimeoutSeconds: number;
  /** Longest wait after the last frame from the client before uWS pings it. */
  readonly pingEverySeconds: number;
  /** After its ping, the wait for any frame (or drain) before uWS closes the socket. Also `end()`'s bound. */
  readonly marginSeconds: number;
}

/** uSockets' timer granularity. */
const TICK_SECONDS = 4;
/** uWS refuses a non-zero idleTimeout below this. */
const MIN_IDLE_TIMEOUT_SECONDS = 8;

/** uWS's split of `idleTimeout` with automatic pings (WebSocketContextData::calculateIdleTimeoutCompnents). */
export function marginFor(idleTimeoutSeconds: number): number {
  let margin = 4;
  while (idleTimeoutSeconds - margin * 2 >= margin * 2 && margin < 16) margin <<= 1;
  return margin;
}

/** The uWS idle settings that ping at least every `intervalMs`, or null when uWS cannot (under 8 s). */
export function nativePingPlan(intervalMs: number): NativePingPlan | null {
  const pingEverySeconds = TICK_SECONDS * Math.floor(intervalMs / 1000 / TICK_SECONDS);
  if (pingEverySeconds < MIN_IDLE_TIMEOUT_SECONDS) return null;
  // The longest margin uWS allows for this wait: more time for a pong behind a backlog on a slow link.
  for (let margin = 16; margin >= 4; margin >>= 1) {
    const idleTimeoutSeconds = pingEverySeconds + margin;
    if (marginFor(idleTimeoutSeconds) === margin)
      return { idleTimeoutSeconds, pingEverySeconds, marginSeconds: margin };
  }
  return null; // unreachable: margin 4 always fits a wait of at least 8 s
}

/** The close reason uWS reports for a socket it closed for silence after its ping (a dead peer). */
const IDLE_TIMEOUT_REASON = 'WebSocket timed out from inactivity';

/** Whether uWS closed this socket for silence after its idle ping (close handler's code and message). */
export function closedForSilence(code: number, message: ArrayBuffer | undefined): boolean {
  return (
    code === 1006 &&
    message !== undefined &&
    message.byteLength === IDLE_TIMEOUT_REASON.length &&
    Buffer.from(message).toString('latin1') === IDLE_TIMEOUT_REASON
  );
}
