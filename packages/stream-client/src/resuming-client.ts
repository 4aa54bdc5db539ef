import { frameSeq, frameTs, snapshotFrameHeader } from '@hydra/protocol';
import { StreamClient } from './stream-client.js';

export interface ResumingClientOptions {
  /** Gateway stream URLs to use (read at each connect; the client rotates through them). */
  urls: () => readonly string[];
  key: string;
  /** Source address (e.g. 127.0.60.7): spreads clients over IPs for the per-IP limit. */
  localAddress: string;
  /** First URL index (spreads clients over gateways). */
  startAt?: number;
  /** Longest wait between reconnect attempts after a refusal (default 1000 ms). */
  maxBackoffMs?: number;
}

/** Close codes after which a client must not reconnect unchanged. */
const TERMINAL_CLOSES = new Set([1008, 4001, 4002]);
/** After a refusal or a failed dial, the first wait (doubling up to maxBackoffMs). */
const BASE_BACKOFF_MS = 50;
/** How long stop() waits for the close handshake before it terminates the socket. */
const STOP_GRACE_MS = 2000;

/**
 * A stream client that lives across connections, for fault tests and the
 * soak: thousands per process. Each connection is a StreamClient with
 * `keepMessages` off: this client reads only the envelope (`type`, `seq`,
 * the snapshot's `scope`/`seq`/`complete`) from the frame's prefix, and tracks
 * per scope the last seq processed — the value it resumes from. On any close
 * but a terminal one it reconnects (rotating gateways) with `resume`; refusals
 * (429, 503) are retried with capped backoff.
 *
 * Accounting: `gaps` counts events skipped without a `resync` (lost), and
 * `duplicates` events at or below the last seq processed; both must stay 0.
 */
export class ResumingClient {
  /** Last seq processed per scope (snapshot, replay or live). */
  readonly last = new Map<string, number>();
  /** The ts of that last event (a snapshot's data.ts): the resume position's proof. */
  readonly lastTs = new Map<string, number>();
  /** First snapshot seq per scope: the client is owed every event after it. */
  readonly first = new Map<string, number>();
  /** Events received (live or replayed). */
  events = 0;
  gaps = 0;
  duplicates = 0;
  resyncs = 0;
  connects = 0;
  /** Connected and past the `connected` message. */
  connected = false;
  readonly refusals = new Map<number, number>();
  readonly closes = new Map<number, number>();
  readonly problems: string[] = [];
  /** The first `resync` messages received (announced restarts of a scope's view, counted in `resyncs`). */
  readonly resyncLog: string[] = [];
  /** Set after a terminal close (1008, 4001, 4002): the client stopped. */
  terminal: number | null = null;
  private connection: StreamClient | null = null;
  private stopped = false;
  private attempt = 0;
  private urlIndex: number;
  private preferred: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: ResumingClientOptions) {
    this.urlIndex = options.startAt ?? 0;
  }

  start(): this {
    this.connect();
    return this;
  }

  /** The `resume` query value, each position with its proof (empty before any snapshot). */
  resumeParam(): string {
    return [...this.last].map(([scope, seq]) => `${scope}:${seq}:${this.lastTs.get(scope) ?? 0}`).join(',');
  }

  /** Resolves once `condition` holds (checked after every message and state change), or rejects after `timeoutMs`. */
  until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.options.localAddress}: timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Closes (1000) and reconnects at once with `resume`, to `url` if it is still live. */
  reconnect(url?: string): void {
    this.preferred = url ?? null;
    const connection = this.connection;
    if (connection && connection.ws.readyState === connection.ws.OPEN) void connection.close();
  }

  /** Closes (1000) and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const connection = this.connection;
    if (!connection) return;
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      connection.close(),
      new Promise<void>((resolve) => {
        grace = setTimeout(() => {
          connection.terminate();
          resolve();
        }, STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(grace);
  }

  private connect(): void {
    if (this.stopped) return;
    const urls = this.options.urls();
    if (urls.length === 0) {
      this.retryLater();
      return;
    }
    const preferred = this.preferred !== null && urls.includes(this.preferred) ? this.preferred : null;
    this.preferred = null;
    const url = preferred ?? (urls[this.urlIndex++ % urls.length] as string);
    const resume = this.resumeParam();
    const full = `${url}?apiKey=${encodeURIComponent(this.options.key)}${resume ? `&resume=${resume}` : ''}`;
    const connection: StreamClient = new StreamClient(full, {
      localAddress: this.options.localAddress,
      perMessageDeflate: false,
      keepMessages: false,
      // An early drop is one more close here: the client reconnects with resume, rotating gateways.
      retryEarlyDrops: false,
      onMessage: (data) => this.onMessage(data),
      onRefusal: (status) => {
        this.refusals.set(status, (this.refusals.get(status) ?? 0) + 1);
        connection.terminate();
      },
    });
    this.connection = connection;
    void connection.closed.then(({ code }) => {
      if (this.connection !== connection) return;
      const wasConnected = this.connected;
      this.connected = false;
      this.connection = null;
      if (wasConnected) this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
      this.notify();
      if (this.stopped) return;
      if (TERMINAL_CLOSES.has(code)) {
        this.terminal = code;
        this.problems.push(`terminal close ${code}`);
        return;
      }
      if (wasConnected) {
        this.attempt = 0;
        // Spread reconnects a little (a killed gateway's clients all close at once).
        this.timer = setTimeout(() => this.connect(), Math.random() * 100);
      } else this.retryLater();
    });
  }

  private retryLater(): void {
    this.attempt++;
    const cap = this.options.maxBackoffMs ?? 1000;
    const delay = Math.min(cap, BASE_BACKOFF_MS * 2 ** Math.min(this.attempt, 8)) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private onMessage(data: Buffer): void {
    // Frames start with {"type":"<type>"; seq, ts and snapshot headers are read with the protocol's frame readers.
    const head = data.subarray(0, 160).toString('latin1');
    const type = /^\{"type":"([a-z_]+)"/.exec(head)?.[1];
    if (type === undefined) {
      this.problems.push(`unparsable frame ${head.slice(0, 60)}`);
      return;
    }
    if (type === 'connected') {
      this.connected = true;
      this.connects++;
      this.attempt = 0;
    } else if (type === 'snapshot') {
      const header = snapshotFrameHeader(data);
      if (!header) this.problems.push(`bad snapshot header ${head.slice(0, 80)}`);
      else if (header.complete) {
        const { scope, seq } = header;
        if (!this.first.has(scope)) this.first.set(scope, seq);
        this.last.set(scope, seq);
        this.lastTs.set(scope, header.ts);
      }
    } else if (type === 'resync') {
      const scope = /"scope":"([a-z]+)"/.exec(head)?.[1];
      this.resyncs++;
      if (this.resyncLog.length < 10) this.resyncLog.push(head.slice(0, 100));
      if (scope) {
        this.last.delete(scope);
        this.lastTs.delete(scope);
      }
    } else if (type === 'error') {
      this.problems.push(`error message ${data.toString('utf8').slice(0, 200)}`);
    } else {
      const seq = frameSeq(data);
      if (seq < 0) {
        this.problems.push(`event without seq ${head.slice(0, 60)}`);
        return;
      }
      this.events++;
      const previous = this.last.get(type);
      if (previous !== undefined) {
        if (seq <= previous) {
          this.duplicates++;
          if (this.problems.length < 20) this.problems.push(`${type}: duplicate ${seq} after ${previous}`);
          return;
        }
        if (seq !== previous + 1) {
          this.gaps += seq - previous - 1;
          if (this.problems.length < 20) this.problems.push(`${type}: got ${seq} after ${previous}`);
        }
      }
      this.last.set(type, seq);
      this.lastTs.set(type, frameTs(data));
    }
    this.notify();
  }

  private notify(): void {
    if (this.waiters.size === 0) return;
    for (const w of [...this.waiters]) w();
  }
}
