import type { EventData, ResumePosition, Scope, StreamMessage } from '@hydra/protocol';
import { DEFAULT_BACKOFF, parseRetryAfter } from './backoff.js';
import type {
  HydraClientOptions,
  HydraEvent,
  HydraFilter,
  HydraListeners,
  HydraStatus,
  Liveness,
} from './client-types.js';
import { pushIterator } from './event-iterator.js';
import { readFrame } from './read-frame.js';
import { type ConnectionEnd, LOCAL_CLOSE as LOCAL, ReconnectPolicy } from './reconnect-policy.js';
import { ENTITY_SCOPES, formatResume, ScopeView, type SnapshotData } from './scope-view.js';
import type { SocketEvent, UpgradeResponse, WebSocketConstructor, WebSocketLike } from './socket.js';
import { coverTiles, tileOf } from './tile-cover.js';

export type * from './client-types.js';

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
  /** What the socket's `error` event said (`ws` names the cause, browsers do not). */
  transportError?: string;
  /** `resume=` was sent. */
  resumed: boolean;
  /** A heartbeat arrived: this gateway sends them, so their absence means a dead connection. */
  beating: boolean;
  lastSeen: number;
}

const CLOSED_BY_CLIENT = 1000;

/**
 * A client of the Hydra stream: connects at once, delivers every event of
 * each granted scope exactly once and in seq order across reconnects
 * (resuming from the last delivered seq with its ts proof), keeps each
 * scope's state, and reconnects by the close code's policy until close().
 */
export class HydraClient {
  private readonly opts: HydraClientOptions;
  /** The entity scopes' filter: the options', until setFilter. */
  private filter: HydraFilter;
  private readonly policy: ReconnectPolicy;
  private readonly liveness: Exclude<Liveness, 'auto'>;
  private readonly recentLimit: number;
  private intervalMs: number;
  private readonly views = new Map<string, ScopeView>();
  private readonly listeners: { [K in keyof HydraListeners]: Set<HydraListeners[K]> } = {
    event: new Set(),
    snapshot: new Set(),
    status: new Set(),
    resync: new Set(),
    frame: new Set(),
    invalid: new Set(),
  };
  private readonly sinks = new Set<(event: HydraEvent | null) => void>();
  private conn: Connection | null = null;
  private ended = false;
  private paused = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;

  constructor(options: HydraClientOptions) {
    this.opts = options;
    this.filter = { bbox: options.bbox, conflate: options.conflate };
    this.policy = new ReconnectPolicy(
      typeof options.url === 'string' ? [options.url] : [...options.url],
      { ...DEFAULT_BACKOFF, ...options.backoff },
      options.random ?? Math.random,
    );
    const scopes = options.scopes;
    if (scopes && (scopes.length === 0 || new Set(scopes).size !== scopes.length)) {
      throw new TypeError('HydraClient: scopes must name at least one scope, each once');
    }
    this.recentLimit = options.recentLimit ?? 100;
    this.intervalMs = options.pingIntervalMs ?? 15_000;
    const Ctor = this.constructorOf();
    const liveness = options.liveness ?? 'auto';
    this.liveness = liveness !== 'auto' ? liveness : typeof Ctor.prototype?.on === 'function' ? 'ping' : 'heartbeat';
    // Dialled after the constructor returns, so listeners added right after it see every status.
    this.timer = setTimeout(() => this.connect(), 0);
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof HydraListeners>(name: K, listener: HydraListeners[K]): () => void {
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

  /**
   * Changes the entity scopes' filter (a region or a conflation tier) and
   * dials again at once with it; the current connection is closed (1000).
   *
   * Guarantee: `entities()` stays exact. An entity scope resumes when what
   * it holds stays true under the new filter: the new area lies within the
   * old one (the world, or the old boxes' tiles), and then the entities
   * outside the new tiles leave `entities()` at once (no event is emitted
   * for them). Otherwise (a wider or another area) it drops its position
   * and takes a fresh snapshot. Log scopes, never filtered, always resume.
   * Returns which the entity scopes do. Throws on `bbox` with `conflate`
   * (the gateway refuses both together) or once the client is closed.
   */
  setFilter(filter: HydraFilter): 'resume' | 'snapshot' {
    if (filter.bbox?.length && filter.conflate)
      throw new TypeError('HydraClient: bbox and conflate exclude each other');
    if (this.ended) throw new Error('HydraClient: closed');
    const before = this.filter.bbox?.length ? coverTiles(this.filter.bbox) : null; // null: the world
    const after = filter.bbox?.length ? coverTiles(filter.bbox) : null;
    const narrows = before === null || (after !== null && [...after].every((tile) => before.has(tile)));
    for (const view of this.views.values()) {
      view.abandonParts();
      if (!view.entity) continue;
      if (!narrows) {
        view.forgetPosition();
        // Without snapshots nothing would replace the old area's entities: they go now.
        if (this.opts.snapshot === false) view.keepOnly(() => false);
      } else if (after !== null) view.keepOnly((data) => after.has(tileOf(data.lat, data.lon)));
    }
    this.filter = { bbox: filter.bbox, conflate: filter.conflate };
    const conn = this.conn;
    this.conn = null; // its close is no end to handle
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    if (conn) conn.ws.close(CLOSED_BY_CLIENT);
    this.connect();
    return narrows ? 'resume' : 'snapshot';
  }

  /** Ends the client: the socket closes, no reconnect, iterators finish. */
  close(): void {
    if (this.ended) return;
    const conn = this.conn;
    this.conn = null;
    if (conn) conn.ws.close(CLOSED_BY_CLIENT);
    this.finish(CLOSED_BY_CLIENT, 'closed by client', conn?.url ?? this.policy.url);
  }

  /**
   * Node with `ws`: stops reading the socket until resume() (a consumer that
   * fell behind); the gateway then paces, or closes a stalled client with
   * 4000, which resumes. Liveness checks wait meanwhile. A no-op in browsers.
   */
  pause(): void {
    this.paused = true;
    this.conn?.ws.pause?.();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const conn = this.conn;
    if (!conn) return;
    conn.lastSeen = Date.now();
    conn.ws.resume?.();
  }

  /** Every event from now on, for `for await` (Node scripts); ends when the client is closed. Unbounded buffer. */
  events(): AsyncIterableIterator<HydraEvent> {
    const { iterator, push } = pushIterator<HydraEvent>(this.ended, () => this.sinks.delete(push));
    if (!this.ended) this.sinks.add(push);
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

  private view(scope: string): ScopeView {
    let view = this.views.get(scope);
    if (!view) {
      view = new ScopeView(ENTITY_SCOPES.includes(scope), this.recentLimit);
      this.views.set(scope, view);
    }
    return view;
  }

  private emit<K extends keyof HydraListeners>(name: K, value: Parameters<HydraListeners[K]>[0]): void {
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
    const url = this.policy.url;
    const query: string[] = [];
    if (!headers) query.push(`apiKey=${encodeURIComponent(apiKey)}`);
    if (this.opts.snapshot === false) query.push('snapshot=false');
    if (this.filter.conflate) query.push(`conflate=${this.filter.conflate}`);
    // The gateway checks the boxes (a refusal ends the client: its error names the option).
    for (const b of this.filter.bbox ?? []) query.push(`bbox=${b.minLon},${b.minLat},${b.maxLon},${b.maxLat}`);
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
    const conn: Connection = {
      ws,
      url,
      upgraded: false,
      served: false,
      beating: false,
      lastSeen: Date.now(),
      resumed: resume !== '',
    };
    this.conn = conn;
    this.status({ state: 'connecting', url });
    ws.addEventListener('open', () => {
      conn.upgraded = true;
      if (this.paused && this.conn === conn) ws.pause?.();
    });
    ws.addEventListener('message', (event) => this.onMessage(conn, event));
    ws.addEventListener('close', (event) => this.onClose(conn, event.code ?? LOCAL, event.reason ?? ''));
    ws.addEventListener('error', (event) => {
      conn.transportError ??= event.message; // the close that follows decides what happens
    });
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
      if (this.paused) {
        // Not reading: silence says nothing.
      } else if (!conn.served) {
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
    this.onClose(conn, LOCAL, reason, at === 'now' ? 'gap' : 'dead');
  }

  private onMessage(conn: Connection, event: SocketEvent): void {
    if (this.conn !== conn) return;
    const text = String(event.data);
    const message = readFrame(text);
    if (typeof message === 'string') {
      this.emit('invalid', { text: text.slice(0, 200), reason: message });
      return;
    }
    conn.served = true;
    conn.lastSeen = Date.now();
    if (message.type !== 'snapshot' && typeof (message as { seq?: unknown }).seq === 'number') {
      this.onEvent(conn, text, message as HydraEvent);
      return;
    }
    this.emit('frame', { text, message });
    switch (message.type) {
      case 'connected':
        this.policy.served();
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
    }
  }

  /** A live or replayed event: delivered once, in seq order; a gap reconnects with resume instead. */
  private onEvent(conn: Connection, text: string, message: HydraEvent): void {
    const { type, seq, ts, data } = message;
    const view = this.view(type);
    if (view.seq >= 0 && seq <= view.seq) return; // delivered already
    const filtered = view.entity && (this.filter.bbox?.length ?? 0) > 0;
    if (filtered && isLeftArea(data)) {
      view.leaveArea(data);
      this.emit('frame', { text, message: message as StreamMessage });
      const left: HydraEvent = { type, seq, ts, data };
      this.emit('event', left);
      for (const sink of this.sinks) sink(left);
      return;
    }
    // A conflated or region-filtered entity scope skips seqs by design: only a log scope's jump is a gap.
    if (view.seq >= 0 && seq > view.seq + 1 && !filtered && !(this.filter.conflate && view.entity)) {
      this.abandon(conn, `seq gap in ${type}: ${seq} after ${view.seq}`, 'now');
      return;
    }
    view.apply(seq, ts, data);
    this.emit('frame', { text, message: message as StreamMessage });
    const delivered: HydraEvent = { type, seq, ts, data };
    this.emit('event', delivered);
    for (const sink of this.sinks) sink(delivered);
  }

  private onClose(conn: Connection, code: number, reason: string, local?: ConnectionEnd['local']): void {
    if (this.conn !== conn) return;
    this.conn = null;
    clearTimeout(this.watchdog);
    for (const view of this.views.values()) view.abandonParts();
    const url = conn.url;
    const why = conn.error ?? (reason || conn.transportError || '');
    const decision = this.policy.after(
      {
        code,
        upgraded: conn.upgraded,
        served: conn.served,
        httpStatus: conn.httpStatus,
        retryAfterMs: conn.retryAfterMs,
        local,
        resumed: conn.resumed,
        serverError: conn.error,
      },
      Date.now(),
    );
    if (decision.kind === 'end') {
      this.finish(code, why, url);
      return;
    }
    if (decision.forgetPositions) this.dropRefusedPositions(conn.error ?? '');
    const { delayMs } = decision;
    this.status({
      state: 'reconnecting',
      url,
      code,
      reason: why,
      httpStatus: conn.httpStatus,
      ...(local ? { local: true as const } : {}),
      delayMs,
      attempt: this.policy.attempts,
    });
    if (this.ended) return; // a status listener closed the client
    this.timer = setTimeout(() => this.connect(), delayMs);
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

/** A `left_area` removal (region filters): the entity left the connection's tiles. */
function isLeftArea(data: EventData): boolean {
  return data.removed === true && data.reason === 'left_area';
}
