import type { EventData, ResumePosition, Scope, StreamMessage } from '@hydra/protocol';
import {
  type Backoff,
  type BackoffOptions,
  busyDelay,
  DEFAULT_BACKOFF,
  fullJitter,
  parseRetryAfter,
} from './backoff.js';
import { ENTITY_SCOPES, formatResume, ScopeView, type SnapshotData } from './scope-view.js';
import type { SocketEvent, UpgradeResponse, WebSocketConstructor, WebSocketLike } from './socket.js';

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

export interface HydraClientOptions {
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

interface Listeners {
  event: (event: HydraEvent) => void;
  snapshot: (snapshot: HydraSnapshot) => void;
  status: (status: HydraStatus) => void;
  resync: (resync: HydraResync) => void;
}

/** One dial: its socket and what it told us. */
interface Connection {
  ws: WebSocketLike;
  url: string;
  upgraded: boolean;
  /** Any message received (the `connected` one first). */
  served: boolean;
  httpStatus?: number;
  retryAfterMs?: number;
  /** The last `error` message's text (a 4002 names the offending scope). */
  error?: string;
  /** A heartbeat arrived: this gateway sends them, so their absence means a dead connection. */
  beating: boolean;
  lastSeen: number;
}

const CLOSED_BY_CLIENT = 1000;
const GAP_WINDOW_MS = 10_000;
/** The close code the client reports for its own decisions (a gap, a dead peer, a timeout). */
const LOCAL = 1006;

/**
 * A client of the Hydra stream: connects at once, delivers every event of
 * each granted scope exactly once and in seq order across reconnects
 * (resuming from the last delivered seq with its ts proof), keeps each
 * scope's state, and reconnects by the close code's policy until close().
 */
export class HydraClient {
  private readonly urls: readonly string[];
  private readonly opts: HydraClientOptions;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly liveness: Exclude<Liveness, 'auto'>;
  private readonly recentLimit: number;
  private intervalMs: number;
  private readonly views = new Map<string, ScopeView>();
  private readonly listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = {
    event: new Set(),
    snapshot: new Set(),
    status: new Set(),
    resync: new Set(),
  };
  private readonly sinks = new Set<(event: HydraEvent | null) => void>();
  private conn: Connection | null = null;
  private urlIndex = 0;
  private attempt = 0;
  private earlyRetried = false;
  /** When the last seq gap was seen: a second one within GAP_WINDOW_MS backs off instead of reconnecting at once. */
  private lastGapAt = -Infinity;
  private ended = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;

  constructor(options: HydraClientOptions) {
    this.opts = options;
    this.urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (this.urls.length === 0) throw new TypeError('HydraClient: no url');
    const scopes = options.scopes;
    if (scopes && (scopes.length === 0 || new Set(scopes).size !== scopes.length)) {
      throw new TypeError('HydraClient: scopes must name at least one scope, each once');
    }
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
    this.recentLimit = options.recentLimit ?? 100;
    this.intervalMs = options.pingIntervalMs ?? 15_000;
    const Ctor = this.constructorOf();
    const liveness = options.liveness ?? 'auto';
    this.liveness = liveness !== 'auto' ? liveness : typeof Ctor.prototype?.on === 'function' ? 'ping' : 'heartbeat';
    // Dialled after the constructor returns, so listeners added right after it see every status.
    this.timer = setTimeout(() => this.connect(), 0);
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof Listeners>(name: K, listener: Listeners[K]): () => void {
    this.listeners[name].add(listener);
    return () => this.listeners[name].delete(listener);
  }

  /** The entities of an entity scope by id, kept current from snapshot, live events and removals. */
  entities(scope: Scope): ReadonlyMap<string, EventData> {
    return this.view(scope).entities;
  }

  /** The recent items of a log scope (a copy), newest last, at most `recentLimit`. */
  recent(scope: Scope): readonly EventData[] {
    return this.view(scope).recent.slice();
  }

  /** The last delivered position per scope (what the next connection resumes from). */
  positions(): Map<Scope, ResumePosition> {
    const out = new Map<Scope, ResumePosition>();
    for (const [scope, view] of this.views) if (view.position) out.set(scope as Scope, view.position);
    return out;
  }

  /** Ends the client: the socket closes, no reconnect, iterators finish. */
  close(): void {
    if (this.ended) return;
    const conn = this.conn;
    this.conn = null;
    if (conn) conn.ws.close(CLOSED_BY_CLIENT);
    this.finish(CLOSED_BY_CLIENT, 'closed by client', conn?.url ?? this.currentUrl());
  }

  /** Every event from now on, for `for await` (Node scripts); ends when the client is closed. Unbounded buffer. */
  events(): AsyncIterableIterator<HydraEvent> {
    const queue: HydraEvent[] = [];
    let done = this.ended;
    let wake: (() => void) | null = null;
    const sink = (event: HydraEvent | null) => {
      if (event) queue.push(event);
      else done = true;
      wake?.();
    };
    this.sinks.add(sink);
    const iterator: AsyncIterableIterator<HydraEvent> = {
      next: async () => {
        while (queue.length === 0 && !done) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        wake = null;
        const value = queue.shift();
        return value ? { value, done: false } : { value: undefined, done: true };
      },
      return: async () => {
        this.sinks.delete(sink);
        done = true;
        queue.length = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<HydraEvent> {
    return this.events();
  }

  private constructorOf(): WebSocketConstructor {
    const Ctor = this.opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) throw new TypeError('HydraClient: no global WebSocket; pass one (e.g. `ws`) as options.WebSocket');
    return Ctor;
  }

  private currentUrl(): string {
    return this.urls[this.urlIndex % this.urls.length] as string;
  }

  private view(scope: string): ScopeView {
    let view = this.views.get(scope);
    if (!view) {
      view = new ScopeView(ENTITY_SCOPES.includes(scope), this.recentLimit);
      this.views.set(scope, view);
    }
    return view;
  }

  private emit<K extends keyof Listeners>(name: K, value: Parameters<Listeners[K]>[0]): void {
    for (const listener of this.listeners[name]) {
      try {
        (listener as (v: typeof value) => void)(value);
      } catch (err) {
        // A listener's error must not break delivery: reported, as an uncaught error, outside this call.
        setTimeout(() => {
          throw err;
        });
      }
    }
  }

  private status(status: HydraStatus): void {
    this.emit('status', status);
  }

  private connect(): void {
    this.timer = undefined;
    if (this.ended) return;
    const { apiKey, headers } = this.opts;
    const url = this.currentUrl();
    const query: string[] = [];
    if (!headers) query.push(`apiKey=${encodeURIComponent(apiKey)}`);
    if (this.opts.snapshot === false) query.push('snapshot=false');
    const resume = formatResume(this.positions());
    if (resume) query.push(`resume=${encodeURIComponent(resume)}`);
    if (this.liveness === 'heartbeat') query.push('heartbeat=true');
    if (this.opts.scopes) query.push(`scopes=${this.opts.scopes.map(encodeURIComponent).join(',')}`);
    const full = query.length ? `${url}${url.includes('?') ? '&' : '?'}${query.join('&')}` : url;
    const Ctor = this.constructorOf();
    let ws: WebSocketLike;
    try {
      // `ws`'s options, only when asked for: a browser's WebSocket takes protocols there instead.
      const options = {
        ...(headers ? { headers: { ...headers, 'x-api-key': apiKey } } : {}),
        ...(this.opts.compression === false ? { perMessageDeflate: false } : {}),
      };
      ws = Object.keys(options).length > 0 ? new Ctor(full, options as never) : new Ctor(full);
    } catch (err) {
      // A malformed URL, or headers a browser's WebSocket cannot take: retrying cannot help.
      this.finish(LOCAL, `cannot connect: ${err instanceof Error ? err.message : String(err)}`, url);
      return;
    }
    const conn: Connection = { ws, url, upgraded: false, served: false, beating: false, lastSeen: Date.now() };
    this.conn = conn;
    this.status({ state: 'connecting', url });
    ws.addEventListener('open', () => {
      conn.upgraded = true;
    });
    ws.addEventListener('message', (event) => this.onMessage(conn, event));
    ws.addEventListener('close', (event) => this.onClose(conn, event.code ?? LOCAL, event.reason ?? ''));
    ws.addEventListener('error', () => undefined); // the close that follows says what happened
    if (typeof ws.on === 'function') {
      ws.on('ping', () => {
        conn.lastSeen = Date.now();
      });
      ws.on('unexpected-response', ((_req: unknown, res: UpgradeResponse) => {
        conn.httpStatus = res.statusCode;
        const retryAfter = res.headers['retry-after'];
        conn.retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now());
        res.resume?.();
        ws.terminate?.(); // ends in `close` (1006), decided with the status seen here
      }) as never);
    }
    this.watch(conn);
  }

  /** One timer per client: no `connected` within connectTimeoutMs, or silence past two intervals, is a dead peer. */
  private watch(conn: Connection): void {
    clearTimeout(this.watchdog);
    const timeoutMs = this.opts.connectTimeoutMs ?? 10_000;
    const startedAt = Date.now();
    const check = () => {
      if (this.conn !== conn) return;
      const now = Date.now();
      if (!conn.served) {
        if (now - startedAt > timeoutMs) return this.abandon(conn, 'connect timeout');
      } else if (this.watching(conn) && now - conn.lastSeen > 2 * this.intervalMs) {
        return this.abandon(conn, this.liveness === 'ping' ? 'ping timeout' : 'heartbeat timeout');
      }
      // Every quarter interval (a heartbeat may have changed it): a dead peer is noticed within 2.25 intervals.
      this.watchdog = setTimeout(check, Math.max(50, Math.min(timeoutMs, this.intervalMs) / 4));
      (this.watchdog as { unref?: () => void }).unref?.();
    };
    check();
  }

  /**
   * Whether silence on `conn` means a dead peer: pings always come; heartbeats
   * only from a gateway that knows the option (an older one ignores it, and
   * a quiet stream must not then look dead).
   */
  private watching(conn: Connection): boolean {
    return this.liveness === 'ping' || (this.liveness === 'heartbeat' && conn.beating);
  }

  /**
   * The client gives up on a connection itself: closed now, decided now (a
   * dead peer's close would come late). A seq gap reconnects at once, a
   * timeout with backoff.
   */
  private abandon(conn: Connection, reason: string, at: 'now' | 'backoff' = 'backoff'): void {
    if (conn.ws.terminate) conn.ws.terminate();
    else conn.ws.close(CLOSED_BY_CLIENT);
    this.onClose(conn, LOCAL, reason, at);
  }

  private onMessage(conn: Connection, event: SocketEvent): void {
    if (this.conn !== conn) return;
    let message: StreamMessage;
    try {
      message = JSON.parse(String(event.data)) as StreamMessage;
    } catch {
      return; // not a Hydra frame
    }
    conn.served = true;
    conn.lastSeen = Date.now();
    switch (message.type) {
      case 'connected':
        this.attempt = 0;
        this.earlyRetried = false;
        this.status({ state: 'open', url: conn.url, scopes: message.data.scopes });
        return;
      case 'heartbeat':
        conn.beating = true;
        if (message.data.intervalMs > 0 && message.data.intervalMs !== this.intervalMs) {
          this.intervalMs = message.data.intervalMs;
          this.watch(conn); // checked at the new interval's pace
        }
        return;
      case 'error':
        conn.error = message.data.message;
        return;
      case 'resync': {
        const view = this.view(message.data.scope);
        view.forgetPosition();
        view.resyncReason = message.data.reason;
        return;
      }
      case 'snapshot': {
        const data = message.data as SnapshotData;
        const view = this.view(data.scope);
        const items = view.addPart(data);
        if (!items) return;
        const ts = data.ts ?? 0;
        view.replace(items, data.seq, ts);
        this.emit('snapshot', { scope: data.scope, seq: data.seq, ts, items });
        const reason = view.resyncReason;
        if (reason !== null) {
          view.resyncReason = null;
          this.emit('resync', { scope: data.scope, reason, seq: data.seq });
        }
        return;
      }
      default: {
        const { type, seq, ts, data } = message;
        if (typeof seq !== 'number') return;
        const view = this.view(type);
        if (view.seq >= 0 && seq <= view.seq) return; // delivered already
        if (view.seq >= 0 && seq > view.seq + 1) {
          this.abandon(conn, `seq gap in ${type}: ${seq} after ${view.seq}`, 'now');
          return;
        }
        view.apply(seq, ts, data);
        const delivered: HydraEvent = { type, seq, ts, data };
        this.emit('event', delivered);
        for (const sink of this.sinks) sink(delivered);
      }
    }
  }

  private onClose(conn: Connection, code: number, reason: string, local?: 'now' | 'backoff'): void {
    if (this.conn !== conn) return;
    this.conn = null;
    clearTimeout(this.watchdog);
    for (const view of this.views.values()) view.abandonParts();
    const url = conn.url;
    // A refused `scopes` option is terminal like a refused key: the same request fails again.
    if (code === 1008 || code === 4001 || (code === 4002 && conn.error?.startsWith('scopes:'))) {
      this.finish(code, conn.error ?? reason, url);
      return;
    }
    if (code === 4002) this.dropRefusedPositions(conn.error ?? '');
    const delayMs = this.delayAfter(conn, code, local);
    this.attempt++;
    this.urlIndex++;
    this.status({
      state: 'reconnecting',
      url,
      code,
      reason: conn.error ?? reason,
      httpStatus: conn.httpStatus,
      delayMs,
      attempt: this.attempt,
    });
    this.timer = setTimeout(() => this.connect(), delayMs);
  }

  /** The close-code policy (README, "Reconnect policy"). */
  private delayAfter(conn: Connection, code: number, local: 'now' | 'backoff' | undefined): number {
    const { backoff: b, random, attempt } = this;
    if (local === 'now') {
      // A gap is never expected: reconnect at once, but never loop on a server that keeps producing them.
      const now = Date.now();
      const repeated = now - this.lastGapAt < GAP_WINDOW_MS;
      this.lastGapAt = now;
      if (!repeated) return 0;
    }
    if (conn.httpStatus === 429 || code === 1013) return busyDelay(attempt, b, random, conn.retryAfterMs);
    if (code === 1001 && conn.served) return random() * b.drainMs;
    if (code === LOCAL && local === undefined && conn.upgraded && !conn.served && !this.earlyRetried) {
      this.earlyRetried = true; // the rare drop right after an upgrade: at once, once
      return 0;
    }
    return fullJitter(attempt, b, random);
  }

  /** 4002: the positions the error names are dropped (all when it names none); those scopes take a snapshot. */
  private dropRefusedPositions(message: string): void {
    const named = [...this.views].filter(([scope, view]) => view.position && message.includes(scope));
    for (const [, view] of named.length > 0 ? named : [...this.views]) view.forgetPosition();
  }

  private finish(code: number, reason: string, url: string): void {
    this.ended = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    this.status({ state: 'closed', url, code, reason });
    for (const sink of this.sinks) sink(null);
    this.sinks.clear();
  }
}
