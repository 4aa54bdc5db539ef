/**
 * WebSocket close codes the gateway sends, shared by server, tests and clients.
 *
 * The gateway never sends 1009: a client frame over its 4 KiB limit makes uWS
 * drop the connection without a close frame (the client sees 1006).
 *
 * Reconnect policy by code:
 * - 1000, 1001, 1011, 1013, 4000: transient; reconnect (with jittered backoff).
 * - 1008, 4001, 4002: terminal for this key or request; reconnecting unchanged fails again.
 */
export const CloseCode = Object.freeze({
  /** Normal closure (the seed's 1000). */
  Normal: 1000,
  /** Server going away: drain on deploy or shutdown (the seed's 1001). Reconnect. */
  GoingAway: 1001,
  /** Unauthorized: missing, unknown, revoked or expired API key (the seed's 1008). */
  Unauthorized: 1008,
  /** Unexpected server error. Reconnect. */
  InternalError: 1011,
  /** The gateway cannot serve this connection right now (e.g. its backplane is gone). Reconnect later. */
  TryAgainLater: 1013,
  /**
   * Slow consumer: the client did not read fast enough and its send buffer
   * passed the gateway's limit. Reconnect (and read faster).
   */
  SlowConsumer: 4000,
  /**
   * The client broke the one-way stream contract (sent data messages beyond
   * the small budget the gateway tolerates). Terminal.
   */
  ClientProtocolViolation: 4001,
  /**
   * The connect request was malformed or impossible (e.g. a `resume` position
   * that is not `scope:seq`, names a scope the key lacks, or lies in the
   * future; a `scopes` option naming a scope the key lacks). An `error`
   * message with the reason (which names the option) precedes the close. Terminal.
   */
  BadRequest: 4002,
} as const);

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close reason strings sent with each code (short: a close reason is at most 123 bytes). */
export const CloseReason: Readonly<Record<CloseCode, string>> = Object.freeze({
  1000: 'normal closure',
  1001: 'server going away',
  1008: 'unauthorized',
  1011: 'internal error',
  1013: 'try again later',
  4000: 'slow consumer',
  4001: 'clients may not send on this stream',
  4002: 'bad request',
});
