import type { EventData, GeoBox, Scope, StreamMessage } from '@hydra/protocol';
import type { BackoffOptions } from './backoff.js';
import type { WebSocketConstructor } from './socket.js';

/* The public shapes of @hydra/client: its options and what it emits. */

/** A live or replayed event: `{type, seq, ts, data}`, `type` its scope. */
export interface HydraEvent {
  type: Scope;
  seq: number;
  ts: number;
  data: EventData;
}

/** A complete snapshot (its parts assembled). */
export interface HydraSnapshot {
  scope: Scope;
  seq: number;
  ts: number;
  items: EventData[];
}

/** A scope's state was replaced by a fresh snapshot (the server's `resync`). */
export interface HydraResync {
  scope: Scope;
  reason: string;
  seq: number;
}

/** A text frame as the server sent it (`text`) and as read (`message`): for tools that show the wire. */
export interface HydraFrame {
  text: string;
  message: StreamMessage;
}

/** A frame the client could not read and dropped (the connection goes on). */
export interface HydraInvalidFrame {
  /** Its first 200 characters. */
  text: string;
  reason: string;
}

export type HydraState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface HydraStatus {
  state: HydraState;
  /** The server URL of this attempt or connection. */
  url: string;
  /** reconnecting / closed: the close code (the client's own reasons use 1006 with a reason). */
  code?: number;
  reason?: string;
  /** reconnecting: the HTTP status of a refused upgrade (Node with `ws` only; browsers cannot see it). */
  httpStatus?: number;
  /** reconnecting: the wait before the next attempt (ms). */
  delayMs?: number;
  /** reconnecting: the client gave up on the connection itself (a seq gap, no ping or heartbeat, no `connected` in time). */
  local?: true;
  /** reconnecting: attempts since the last connection that was served. */
  attempt?: number;
  /** open: the scopes this connection gets (the key's, or those `scopes` named). */
  scopes?: Scope[];
}

/**
 * How the client notices a dead connection: `heartbeat` asks the gateway
 * for `heartbeat` messages (`heartbeat=true`), `ping` watches protocol pings
 * (Node with `ws`), `off` relies on TCP. `auto` (default): `ping` with a
 * constructor that reports pings (`ws`), else `heartbeat`.
 */
export type Liveness = 'auto' | 'heartbeat' | 'ping' | 'off';

/**
 * What the entity scopes (aircraft, vessels) carry: every event, a region
 * (`bbox`) or a conflation tier (`conflate`); the gateway refuses both
 * together. Given at construction, changed by HydraClient.setFilter.
 */
export interface HydraFilter {
  /**
   * Region filter (`bbox`): the entity scopes (aircraft, vessels) carry only
   * the entities in the 2° tiles covering these boxes (`minLon > maxLon`
   * crosses the antimeridian); log scopes are not filtered. Seqs of a
   * filtered scope increase but skip, so the client checks no gaps there;
   * `left_area` removals drop an entity that left the tiles.
   */
  bbox?: readonly GeoBox[];
  /**
   * `conflate=<ms>`: entity scopes (aircraft, vessels) deliver, once per
   * interval, each changed entity's latest event (removals included) instead
   * of every event; their seqs then increase by more than 1, which is no gap.
   * Log scopes are never conflated. Default: every event.
   */
  conflate?: 1000 | 5000 | 30000;
}

export interface HydraClientOptions extends HydraFilter {
  /** `ws(s)://host/v1/stream`, or several: each reconnect moves to the next. */
  url: string | readonly string[];
  apiKey: string;
  /** false: `snapshot=false`, live events only on a fresh connection. Default true. */
  snapshot?: boolean;
  /**
   * Only these scopes of the key (`scopes=`): each named once, at least one.
   * Default: every scope the key grants. A scope the key lacks (or an
   * unknown name) ends the client: `closed` with 4002 and the gateway's reason.
   */
  scopes?: readonly Scope[];
  /**
   * Node with `ws`: false stops offering permessage-deflate (`ws` offers it
   * by default; browsers always do). Frames are compressed only when the
   * gateway allows it too (HYDRA_COMPRESSION); the messages are the same
   * either way. Default: the WebSocket's own behaviour.
   */
  compression?: boolean;
  /** Node with `ws`: headers for the upgrade; the key then goes in `x-api-key`, not in the URL. */
  headers?: Record<string, string>;
  /** The WebSocket constructor (e.g. `ws` in Node 20); default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  backoff?: BackoffOptions;
  liveness?: Liveness;
  /** The gateway's ping interval (ms), until a heartbeat says otherwise. Default 15 000. */
  pingIntervalMs?: number;
  /** Longest wait for `connected` after dialling before trying again (ms). Default 10 000. */
  connectTimeoutMs?: number;
  /** Items kept per scope by recent(). Default 100. */
  recentLimit?: number;
  /** For tests: the jitter's random source. */
  random?: () => number;
}

export interface HydraListeners {
  event: (event: HydraEvent) => void;
  snapshot: (snapshot: HydraSnapshot) => void;
  status: (status: HydraStatus) => void;
  resync: (resync: HydraResync) => void;
  /**
   * Every frame read, before it is handled; event frames only when
   * delivered (a duplicate or a frame past a seq gap is not passed on).
   */
  frame: (frame: HydraFrame) => void;
  invalid: (frame: HydraInvalidFrame) => void;
}
