import {
  type BackoffPolicy,
  CloseCode,
  formatResumePositions,
  jitteredBackoffDelay,
  parseServerMessage,
  type Scope,
  type ServerMessage,
} from '@hydra/protocol';
import WebSocket from 'ws';
import { CliError, failureText } from '../errors.js';
import { ExitCode } from '../exit-code.js';
import { SeqTracker } from './seq-tracker.js';
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

/** Reconnect delays: 500 ms doubling up to 30 s, with equal jitter (jitteredBackoffDelay). */
export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({ initialMs: 500, maxMs: 30_000 });

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
  /** false: do not offer permessage-deflate (default true: offered; the gateway decides, HYDRA_COMPRESSION). */
  compression?: boolean;
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
  backoff?: Partial<BackoffPolicy>;
  /** Handshake deadline (ms, default 10 000). */
  connectTimeoutMs?: number;
  /** Reconnect when neither a ping nor a message arrived for this long (ms, default 45 000: three server ping periods). */
  idleTimeoutMs?: number;
  /** Clock for lines that carry no server time (default Date.now). */
  now?: () => number;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
}

type Outcome =
  | { kind: 'stop' }
  | { kind: 'exit'; code: ExitCode; message: string }
  | { kind: 'retry'; reason: string; connected: boolean; forgetPositions?: true };

/** Per-connection state. */
interface Connection {
  /** Asked the server to resume (`resume=scope:seq:ts,…`) instead of sending snapshots of those scopes. */
  resumed: boolean;
  connected: boolean;
  /** The last `error` message the server sent (its text explains a following close). */
  serverError: { code: string; message: string } | undefined;
  transportError: string | undefined;
}

/** Close codes after which reconnecting unchanged cannot help. */
const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.ClientProtocolViolation,
  CloseCode.BadRequest,
  1009, // message too big (never sent by the gateway: it drops oversized client frames)
  1002, // protocol error
  1003, // unsupported data
  1007, // invalid payload
  1010, // mandatory extension
]);

/**
 * `hydra tail`: connects to the stream and prints it until aborted or
 * ended for good. Resolves with the exit code; never rejects.
 *
 * - Reconnects with capped, jittered exponential backoff after transient
 *   closes (1000, 1001, 1006, 1011, 1012, 1013, 4000, …), network errors,
 *   handshake timeouts, HTTP 5xx, and when pings stop. A reconnect resumes
 *   (`resume=<scope>:<last seq>:<its ts>,…`), so the server replays what was
 *   missed, or resyncs a position the stream no longer holds;
 *   if it refuses the position (4002, e.g. a restarted in-memory server whose
 *   numbering began again) tail reconnects once more without it.
 * - Ends with 3 on close 1008 (`unauthorized: <server message>`), 4 on HTTP 429,
 *   2 on HTTP 404, 1 on other terminal closes; 0 when `signal` aborts or
 *   `out` is closed by its reader (EPIPE).
 */
export async function runTail(options: TailOptions): Promise<ExitCode> {
  return new Tail(options).run();
}

class Tail {
  readonly #o: TailOptions;
  readonly #color: boolean;
  readonly #json: boolean;
  readonly #url: string;
  readonly #shownUrl: string;
  readonly #wanted: ReadonlySet<Scope> | undefined;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #seq = new SeqTracker();
  readonly #counts = new Map<Scope, number>();
  /** Items of a snapshot sent in parts, summed until its last part. */
  readonly #snapshotItems = new Map<Scope, number>();
  /** Scopes shown: the key's scopes (filtered by `scopes`) once connected. */
  #shown: Scope[] = [];
  #everConnected = false;
  #lastRateAt = 0;
  /** Aborted by the caller's signal or by a broken output pipe. */
  readonly #stop = new AbortController();

  constructor(options: TailOptions) {
    this.#o = options;
    this.#color = options.isTTY;
    this.#json = options.json === true;
    const url = new URL(options.url);
    if (options.snapshot === false) url.searchParams.set('snapshot', 'false');
    if (options.scopes !== undefined) url.searchParams.set('scopes', options.scopes.join(','));
    this.#url = url.toString();
    this.#shownUrl = displayUrl(this.#url);
    this.#wanted = options.scopes === undefined ? undefined : new Set(options.scopes);
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  async run(): Promise<ExitCode> {
    const { signal, out } = this.#o;
    const stop = () => this.#stop.abort();
    if (signal.aborted) return ExitCode.Ok;
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
      let attempt = 0;
      for (;;) {
        const outcome = await this.#connect();
        if (outcome.kind === 'stop' || this.#stop.signal.aborted) return ExitCode.Ok;
        if (outcome.kind === 'exit') {
          const text = failureText(new CliError(outcome.code, outcome.message), {
            json: this.#json,
            helpCommand: 'hydra tail',
          });
          this.#o.err.write(this.#json ? text : `${paint(text.trimEnd(), 'error', this.#color)}\n`);
          return outcome.code;
        }
        // The backoff grows with consecutive failures and restarts after a connection that was accepted.
        if (outcome.connected) attempt = 0;
        if (outcome.forgetPositions) this.#seq.reset();
        const delay = jitteredBackoffDelay(attempt++, this.#backoff, this.#random);
        this.#warn(`disconnected: ${outcome.reason}; reconnecting in ${formatDelay(delay)}`);
        if (!(await sleep(delay, this.#stop.signal))) return ExitCode.Ok;
      }
    } finally {
      clearInterval(rateTimer);
      signal.removeEventListener('abort', stop);
      out.off?.('error', onOutError);
    }
  }

  /** One connection, from handshake to close. */
  #connect(): Promise<Outcome> {
    return new Promise((resolve) => {
      const positions = this.#seq.positions();
      const url = new URL(this.#url);
      if (positions.size > 0) url.searchParams.set('resume', formatResumePositions(positions));
      const conn: Connection = {
        resumed: positions.size > 0,
        connected: false,
        serverError: undefined,
        transportError: undefined,
      };
      const idleMs = this.#o.idleTimeoutMs ?? 45_000;
      const ws = new WebSocket(url, {
        headers: { 'x-api-key': this.#o.key },
        handshakeTimeout: this.#o.connectTimeoutMs ?? 10_000,
        perMessageDeflate: this.#o.compression !== false,
      });
      let settled = false;
      let idleTimer: NodeJS.Timeout | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      let paused = false;

      const finish = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(idleTimer);
        clearTimeout(killTimer);
        this.#stop.signal.removeEventListener('abort', onStop);
        resolve(outcome);
      };
      const armIdle = () => {
        clearTimeout(idleTimer);
        if (paused) return;
        idleTimer = setTimeout(() => {
          conn.transportError = `no ping or message for ${formatDelay(idleMs)}`;
          ws.terminate();
        }, idleMs);
      };
      // Ctrl-C: close politely, but never wait more than a second for the server's answer.
      const onStop = () => {
        if (ws.readyState === WebSocket.OPEN) {
          ws.close(CloseCode.Normal, 'client exit');
          killTimer = setTimeout(() => ws.terminate(), 1_000);
        } else {
          ws.terminate();
        }
      };
      this.#stop.signal.addEventListener('abort', onStop, { once: true });

      ws.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        finish(this.#httpOutcome(status));
        ws.terminate();
      });
      ws.on('open', () => {
        if (!conn.resumed) this.#seq.reset();
        this.#snapshotItems.clear();
        armIdle();
      });
      ws.on('ping', armIdle);
      ws.on('message', (data, isBinary) => {
        armIdle();
        if (isBinary) return;
        const text = Array.isArray(data) ? Buffer.concat(data).toString() : data.toString();
        const writable = this.#onFrame(text, conn);
        if (!writable && !paused && this.#o.out.once !== undefined) {
          // The reader of our output is behind: stop reading the socket until it catches up.
          paused = true;
          clearTimeout(idleTimer);
          ws.pause();
          this.#o.out.once('drain', () => {
            paused = false;
            ws.resume();
            armIdle();
          });
        }
      });
      ws.on('error', (err) => {
        conn.transportError ??= err.message;
      });
      ws.on('close', (code, reasonBuffer) => {
        if (this.#stop.signal.aborted) return finish({ kind: 'stop' });
        finish(this.#closeOutcome(code, reasonBuffer.toString(), conn));
      });
      if (this.#stop.signal.aborted) onStop();
    });
  }

  /** Handles one text frame; returns false when the output asked us to slow down. */
  #onFrame(text: string, conn: Connection): boolean {
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(text);
    } catch (err) {
      this.#warn((err as Error).message);
      return true;
    }
    const now = this.#now();
    switch (msg.type) {
      case 'connected': {
        conn.connected = true;
        this.#everConnected = true;
        this.#shown = msg.data.scopes.filter((s) => this.#wanted === undefined || this.#wanted.has(s));
        for (const scope of this.#wanted ?? []) {
          if (!msg.data.scopes.includes(scope)) this.#warn(`the key does not grant ${scope}: nothing to show for it`);
        }
        return this.#json
          ? this.#emit(text)
          : this.#emit(formatConnectedLine(this.#shownUrl, this.#shown, now, this.#color));
      }
      case 'snapshot': {
        const { scope, seq, ts, items, complete } = msg.data;
        this.#seq.baseline(scope, seq, ts ?? 0);
        if (!this.#isShown(scope)) return true;
        if (this.#json) return this.#emit(text);
        // A large snapshot comes in parts (all at one seq): one summary line, after the last part.
        const total = (this.#snapshotItems.get(scope) ?? 0) + items.length;
        if (complete === false) {
          this.#snapshotItems.set(scope, total);
          return true;
        }
        this.#snapshotItems.delete(scope);
        return this.#emit(formatSnapshotLine(scope, seq, total, now, this.#color));
      }
      case 'resync': {
        const { scope, reason } = msg.data;
        // The server restarts this scope with a fresh snapshot: numbering continues from it.
        this.#seq.forget(scope);
        this.#snapshotItems.delete(scope);
        if (!this.#isShown(scope)) return true;
        return this.#emit(this.#json ? text : formatResyncLine(scope, reason, now, this.#color));
      }
      case 'error': {
        conn.serverError = msg.data;
        if (this.#json) return this.#emit(text);
        // An unauthorized error is followed by close 1008, whose exit message quotes it.
        if (msg.data.code !== 'unauthorized') this.#warn(`server: ${msg.data.code}: ${msg.data.message}`);
        return true;
      }
      default: {
        const scope = msg.type;
        const { seq, ts, data } = msg;
        const check = this.#seq.observe(scope, seq, ts);
        if (check.kind === 'gap') {
          this.#warn(`${scope} seq gap: expected ${check.expected}, got ${check.got} (${check.missed} missed)`);
        } else if (check.kind === 'backwards') {
          this.#warn(`${scope} seq went backwards: ${check.last} then ${check.got}`);
        }
        if (!this.#isShown(scope)) return true;
        this.#counts.set(scope, (this.#counts.get(scope) ?? 0) + 1);
        return this.#emit(this.#json ? text : formatEventLine(scope, seq, ts, data, this.#color));
      }
    }
  }

  #isShown(scope: Scope): boolean {
    return this.#wanted === undefined || this.#wanted.has(scope);
  }

  #emit(line: string): boolean {
    return this.#o.out.write(`${line}\n`);
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

  #httpOutcome(status: number): Outcome {
    if (status === 429) {
      return {
        kind: 'exit',
        code: ExitCode.TooManyConnections,
        message: 'too many connections from this IP (HTTP 429)',
      };
    }
    if (status === 404) {
      return {
        kind: 'exit',
        code: ExitCode.Usage,
        message: `not found (HTTP 404): ${this.#shownUrl} is not a stream endpoint (expected …/v1/stream)`,
      };
    }
    if (status === 401 || status === 403) {
      return { kind: 'exit', code: ExitCode.Unauthorized, message: `unauthorized: HTTP ${status}` };
    }
    if (status >= 500 || status === 408) return { kind: 'retry', reason: `HTTP ${status}`, connected: false };
    return { kind: 'exit', code: ExitCode.Failed, message: `unexpected HTTP ${status} from ${this.#shownUrl}` };
  }

  #closeOutcome(code: number, reason: string, conn: Connection): Outcome {
    if (code === CloseCode.Unauthorized) {
      const why = conn.serverError?.message || reason || 'missing, unknown, revoked or expired API key';
      return { kind: 'exit', code: ExitCode.Unauthorized, message: `unauthorized: ${why}` };
    }
    // A refused `scopes` option is the user's request, not a stale position: reconnecting cannot help.
    const scopesRefused = conn.serverError?.message.startsWith('scopes:') === true;
    if (code === CloseCode.BadRequest && conn.resumed && !scopesRefused) {
      // Most likely the stream's numbering restarted (an in-memory server restarted): start afresh.
      const why = conn.serverError?.message || reason || 'bad request';
      return { kind: 'retry', reason: `resume refused (${why})`, connected: false, forgetPositions: true };
    }
    if (TERMINAL_CLOSE_CODES.has(code)) {
      return {
        kind: 'exit',
        code: ExitCode.Failed,
        message: `closed by the server: ${code} ${conn.serverError?.message || reason || ''}`.trim(),
      };
    }
    const detail =
      code === 1006
        ? `connection lost${conn.transportError ? ` (${conn.transportError})` : ''}`
        : `${code}${reason ? ` ${reason}` : ''}`;
    return { kind: 'retry', reason: detail, connected: conn.connected };
  }
}

/** `350ms`, `2.5s`. */
function formatDelay(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. The timer keeps the process alive on purpose. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
