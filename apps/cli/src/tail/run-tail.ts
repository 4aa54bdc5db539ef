import {
  type BackoffOptions,
  HydraClient,
  type HydraFrame,
  type HydraStatus,
  type WebSocketConstructor,
} from '@hydra/client';
import type { ConflationTierMs, GeoBox, Scope } from '@hydra/protocol';
import WebSocket from 'ws';
import { CliError, failureText } from '../errors.js';
import { ExitCode } from '../exit-code.js';
import { DEFAULT_RATE_INTERVAL_MS } from './tail-args.js';
import {
  displayUrl,
  formatConnectedLine,
  formatEventLine,
  formatRateLine,
  formatResyncLine,
  formatSnapshotLine,
  formatWarning,
  paint,
} from './tail-format.js';

/** Where tail writes: process.stdout / process.stderr, or a test's collector. */
export interface TailOutput {
  /** Returns false when the consumer is behind (then `drain` follows, if the stream has `once`). */
  write(chunk: string): boolean;
  once?(event: 'drain', listener: () => void): unknown;
  on?(event: 'error', listener: (err: Error) => void): unknown;
  off?(event: 'error', listener: (err: Error) => void): unknown;
}

export interface TailOptions {
  url: string;
  key: string;
  /**
   * Only these scopes: asked of the server (`scopes=`, so the others are not
   * even sent; a scope the key lacks is refused, 4002, and tail exits with
   * the reason), and filtered here too (a gateway without the option sends
   * every scope). Undefined: every scope the key grants.
   */
  scopes?: readonly Scope[] | undefined;
  /** Ask for the initial snapshot (default true). */
  snapshot?: boolean;
  /**
   * Region filter (`bbox`) of the entity scopes. Their seqs then skip (no gap
   * warning), and a `left_area` removal is shown but is no resume position.
   */
  bbox?: readonly GeoBox[];
  /** false: do not offer permessage-deflate (default true: offered; the gateway decides, HYDRA_COMPRESSION). */
  compression?: boolean;
  /**
   * `conflate=<ms>` (1000, 5000 or 30000): entity scopes deliver each changed entity's latest event once per
   * interval; their seqs then jump by more than 1, which is not reported as a gap. Absent or 0: every event.
   */
  conflateMs?: ConflationTierMs | 0;
  /** Print each server message as its raw JSON line instead of a readable line. */
  json?: boolean;
  /** Events, snapshot summaries and (readable mode) rate lines. */
  out: TailOutput;
  /** Connection notices, warnings, the reason of a non-zero exit; rate lines in JSON mode. */
  err: TailOutput;
  /** Colour scopes with ANSI codes (only on a terminal). */
  isTTY: boolean;
  /** Aborting ends tail with exit code 0 (Ctrl-C). */
  signal: AbortSignal;
  /** Period of the rate line (ms, default 10 000; 0 = off). */
  rateIntervalMs?: number;
  /** Reconnect delays (@hydra/client's BackoffOptions; its defaults: 500 ms doubling up to 30 s, full jitter). */
  backoff?: BackoffOptions;
  /** Deadline for the `connected` message after dialling (ms, default 10 000). */
  connectTimeoutMs?: number;
  /** The gateway's ping interval (ms, default 15 000): two intervals without a ping or message reconnect. */
  pingIntervalMs?: number;
  /** Clock for lines that carry no server time (default Date.now). */
  now?: () => number;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
}

/** Close codes after which tail stops rather than retrying: a human is watching, and nothing will change. */
const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  1002, // protocol error
  1003, // unsupported data
  1007, // invalid payload
  1009, // message too big (never sent by the gateway: it drops oversized client frames)
  1010, // mandatory extension
]);

/**
 * `hydra tail`: prints the stream until aborted or ended for good; a
 * terminal front end of @hydra/client, which owns the protocol: reconnects
 * (its reconnect policy: backoff with full jitter, a quick retry after a
 * drain), resumes every scope from the last event shown with its proof, takes
 * a snapshot of a scope whose position was refused (4002), reconnects on a
 * seq gap or when pings stop, and replaces a scope's state on `resync`. So
 * every event is shown once, in order, across reconnects. Resolves with the
 * exit code; never rejects.
 *
 * Where tail differs from a library client, it stops instead of waiting:
 * 3 on close 1008 or HTTP 401/403 (`unauthorized: <server message>`), 4 on
 * HTTP 429, 2 on HTTP 404, 1 on other terminal closes (4001, a refused
 * `scopes`, a 4002 without a position to drop, a protocol error) and unexpected HTTP answers; 0 when
 * `signal` aborts or `out` is closed by its reader (EPIPE).
 */
export async function runTail(options: TailOptions): Promise<ExitCode> {
  return new Tail(options).run();
}

type Exit = { code: ExitCode; message: string };

class Tail {
  readonly #o: TailOptions;
  readonly #color: boolean;
  readonly #json: boolean;
  readonly #wanted: ReadonlySet<Scope> | undefined;
  readonly #now: () => number;
  readonly #counts = new Map<Scope, number>();
  /** Scopes shown: the key's scopes (filtered by `scopes`) once connected. */
  #shown: Scope[] = [];
  #everConnected = false;
  #lastRateAt = 0;
  /** Why tail stops (set before it closes the client); undefined: stopped by the caller. */
  #exit: Exit | undefined;
  #client: HydraClient | undefined;
  #paused = false;

  constructor(options: TailOptions) {
    this.#o = options;
    this.#color = options.isTTY;
    this.#json = options.json === true;
    this.#wanted = options.scopes === undefined ? undefined : new Set(options.scopes);
    this.#now = options.now ?? Date.now;
  }

  async run(): Promise<ExitCode> {
    const { signal, out } = this.#o;
    if (signal.aborted) return ExitCode.Ok;
    const client = new HydraClient({
      url: this.#o.url,
      apiKey: this.#o.key,
      headers: {}, // the key goes in x-api-key, never in the URL (which tail prints)
      snapshot: this.#o.snapshot !== false,
      ...(this.#o.scopes !== undefined ? { scopes: this.#o.scopes } : {}),
      compression: this.#o.compression !== false,
      ...(this.#o.bbox !== undefined && this.#o.bbox.length > 0 ? { bbox: this.#o.bbox } : {}),
      ...(this.#o.conflateMs ? { conflate: this.#o.conflateMs } : {}),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      liveness: 'ping',
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
      ...(this.#o.connectTimeoutMs ? { connectTimeoutMs: this.#o.connectTimeoutMs } : {}),
      ...(this.#o.pingIntervalMs ? { pingIntervalMs: this.#o.pingIntervalMs } : {}),
      ...(this.#o.random ? { random: this.#o.random } : {}),
    });
    this.#client = client;
    const ended = new Promise<HydraStatus>((resolve) => {
      client.on('status', (status) => {
        if (status.state === 'closed') resolve(status);
        else this.#onStatus(status);
      });
    });
    client.on('frame', (frame) => this.#onFrame(frame));
    client.on('invalid', (frame) => this.#warn(`invalid server message: ${frame.reason}`));
    if (!this.#json) {
      client.on('snapshot', (s) =>
        this.#show(s.scope, () => formatSnapshotLine(s.scope, s.seq, s.items.length, this.#now(), this.#color)),
      );
      client.on('resync', (r) =>
        this.#show(r.scope, () => formatResyncLine(r.scope, r.reason, r.seq, this.#now(), this.#color)),
      );
      client.on('event', (e) => {
        if (!this.#isShown(e.type)) return;
        this.#counts.set(e.type, (this.#counts.get(e.type) ?? 0) + 1);
        this.#emit(formatEventLine(e.type, e.seq, e.ts, e.data, this.#color));
      });
    }

    const stop = () => client.close();
    signal.addEventListener('abort', stop, { once: true });
    // `hydra tail | head`: the reader went away; stop quietly.
    const onOutError = (err: Error) => {
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') stop();
    };
    out.on?.('error', onOutError);
    const rateMs = this.#o.rateIntervalMs ?? DEFAULT_RATE_INTERVAL_MS;
    const rateTimer = rateMs > 0 ? setInterval(() => this.#printRates(), rateMs) : undefined;
    rateTimer?.unref();
    this.#lastRateAt = this.#now();
    try {
      const closed = await ended;
      const exit = this.#exit ?? this.#exitOf(closed);
      if (!exit) return ExitCode.Ok;
      const text = failureText(new CliError(exit.code, exit.message), { json: this.#json, helpCommand: 'hydra tail' });
      this.#o.err.write(this.#json ? text : `${paint(text.trimEnd(), 'error', this.#color)}\n`);
      return exit.code;
    } finally {
      clearInterval(rateTimer);
      signal.removeEventListener('abort', stop);
      out.off?.('error', onOutError);
    }
  }

  #onStatus(status: HydraStatus): void {
    if (status.state === 'open') {
      this.#everConnected = true;
      const granted = status.scopes ?? [];
      this.#shown = granted.filter((s) => this.#isShown(s));
      for (const scope of this.#wanted ?? []) {
        if (!granted.includes(scope)) this.#warn(`the key does not grant ${scope}: nothing to show for it`);
      }
      if (!this.#json) this.#emit(formatConnectedLine(displayUrl(status.url), this.#shown, this.#now(), this.#color));
      return;
    }
    if (status.state !== 'reconnecting') return;
    const stopWith = this.#stopInsteadOfRetrying(status);
    if (stopWith) {
      this.#exit = stopWith;
      this.#client?.close();
      return;
    }
    this.#warn(`disconnected: ${describeEnding(status)}; reconnecting in ${formatDelay(status.delayMs ?? 0)}`);
  }

  /** Endings the client would retry but tail does not: a refused upgrade a retry cannot fix, a protocol error. */
  #stopInsteadOfRetrying(status: HydraStatus): Exit | undefined {
    const http = status.httpStatus;
    const shownUrl = displayUrl(status.url);
    if (http === 429)
      return { code: ExitCode.TooManyConnections, message: 'too many connections from this IP (HTTP 429)' };
    if (http === 404) {
      return {
        code: ExitCode.Usage,
        message: `not found (HTTP 404): ${shownUrl} is not a stream endpoint (expected …/v1/stream)`,
      };
    }
    if (http === 401 || http === 403) return { code: ExitCode.Unauthorized, message: `unauthorized: HTTP ${http}` };
    if (http !== undefined && http < 500 && http !== 408) {
      return { code: ExitCode.Failed, message: `unexpected HTTP ${http} from ${shownUrl}` };
    }
    if (status.code !== undefined && TERMINAL_CLOSE_CODES.has(status.code)) {
      return { code: ExitCode.Failed, message: `closed by the server: ${status.code} ${status.reason ?? ''}`.trim() };
    }
    return undefined;
  }

  /** The client ended by itself: 1008 → 3, anything else → 1; closed by tail (abort, EPIPE) → none. */
  #exitOf(closed: HydraStatus): Exit | undefined {
    if (closed.code === 1000) return undefined;
    if (closed.code === 1008) {
      const why = closed.reason || 'missing, unknown, revoked or expired API key';
      return { code: ExitCode.Unauthorized, message: `unauthorized: ${why}` };
    }
    const message =
      closed.code === 1006 ? closed.reason : `closed by the server: ${closed.code} ${closed.reason ?? ''}`;
    return { code: ExitCode.Failed, message: (message ?? 'closed').trim() };
  }

  /** JSON mode prints every frame as the server sent it (events once each); readable mode, the server's errors. */
  #onFrame({ text, message }: HydraFrame): void {
    if (this.#json) {
      const scope = scopeOf(message);
      if (scope === undefined || this.#isShown(scope)) this.#emit(text);
      return;
    }
    // An unauthorized error is followed by close 1008, whose exit message quotes it.
    if (message.type === 'error' && message.data.code !== 'unauthorized') {
      this.#warn(`server: ${message.data.code}: ${message.data.message}`);
    }
  }

  #isShown(scope: Scope): boolean {
    return this.#wanted === undefined || this.#wanted.has(scope);
  }

  #show(scope: Scope, line: () => string): void {
    if (this.#isShown(scope)) this.#emit(line());
  }

  /** Writes one line; a reader that fell behind pauses the socket until it drains (backpressure to the gateway). */
  #emit(line: string): void {
    const { out } = this.#o;
    if (out.write(`${line}\n`) || this.#paused || out.once === undefined) return;
    this.#paused = true;
    this.#client?.pause();
    out.once('drain', () => {
      this.#paused = false;
      this.#client?.resume();
    });
  }

  #warn(message: string): void {
    this.#o.err.write(`${formatWarning(message, this.#now(), this.#color)}\n`);
  }

  #printRates(): void {
    const now = this.#now();
    const elapsed = now - this.#lastRateAt;
    this.#lastRateAt = now;
    if (!this.#everConnected || this.#shown.length === 0) return;
    const counts = this.#shown.map((s) => [s, this.#counts.get(s) ?? 0] as const);
    this.#counts.clear();
    const line = `${formatRateLine(counts, elapsed, now, this.#color)}\n`;
    (this.#json ? this.#o.err : this.#o.out).write(line);
  }
}

/** The scope a frame is about; undefined for connection-wide frames (connected, error, heartbeat). */
function scopeOf(message: HydraFrame['message']): Scope | undefined {
  if (message.type === 'snapshot' || message.type === 'resync') return message.data.scope;
  if ('seq' in message) return message.type;
  return undefined;
}

/** Why a connection ended, for the `disconnected: …` warning. */
function describeEnding(status: HydraStatus): string {
  if (status.local) return status.reason ?? 'given up';
  if (status.httpStatus !== undefined) return `HTTP ${status.httpStatus}`;
  if (status.code === 4002) return `resume refused (${status.reason || 'bad request'})`;
  if (status.code === 1006 || status.code === undefined) {
    return `connection lost${status.reason ? ` (${status.reason})` : ''}`;
  }
  return `${status.code}${status.reason ? ` ${status.reason}` : ''}`;
}

/** `350ms`, `2.5s`. */
function formatDelay(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}
