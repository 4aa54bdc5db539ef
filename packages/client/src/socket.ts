/*
 * The WebSocket the client drives: the platform's (browsers, Node 22+) or a
 * constructor passed in, such as the `ws` package's. Only what both offer
 * is required; `on` and `terminate` are the `ws` extras used when present
 * (protocol pings, the HTTP answer of a refused upgrade, an immediate drop).
 */

/** The events of the standard WebSocket API the client listens to. */
export interface SocketEvent {
  readonly type?: string;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
  /** `error` events of `ws`: what went wrong (browsers say nothing). */
  readonly message?: string;
}

export interface WebSocketLike {
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: SocketEvent) => void): void;
  close(code?: number, reason?: string): void;
  /** `ws` (Node): EventEmitter API, for `ping` and `unexpected-response`. */
  on?(event: string, listener: (...args: never[]) => void): unknown;
  /** `ws` (Node): drops the connection without a close handshake. */
  terminate?(): void;
  /** `ws` (Node): stops and restarts reading the socket. */
  pause?(): void;
  resume?(): void;
}

/** A WebSocket constructor: the second argument is `ws`'s options (headers) when headers are asked for. */
export type WebSocketConstructor = new (url: string, options?: never) => WebSocketLike;

/** The HTTP answer of a refused upgrade, as `ws` reports it. */
export interface UpgradeResponse {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  resume?(): void;
}
