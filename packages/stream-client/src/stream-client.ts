import WebSocket from 'ws';

export interface ReceivedMessage {
  type: string;
  seq?: number;
  ts?: number;
  data?: unknown;
  [k: string]: unknown;
}

export interface StreamClientOptions {
  headers?: Record<string, string>;
  localAddress?: string;
  autoPong?: boolean;
  /**
   * Dial again (at most twice) when the server closes a socket it just
   * upgraded before sending any message (1006): uWS 20.30 can do that right
   * after an async upgrade (uWebSockets#1928), and clients are told to
   * reconnect. Default true; `earlyDrops` counts the redials.
   */
  retryEarlyDrops?: boolean;
  /** Offer permessage-deflate (default true, the ws default). */
  perMessageDeflate?: boolean;
  /**
   * Parse and keep every message in `messages` (default true). Off for a
   * client that reads frames itself through `onMessage` (ResumingClient):
   * thousands of them then cost no JSON.parse and no memory per message.
   */
  keepMessages?: boolean;
  /** Every message as received, before it is kept. */
  onMessage?: (data: Buffer) => void;
  /**
   * The HTTP refusal of the upgrade, as soon as its status is known: a client that only retries ends the
   * socket here, without the body (waiting for the body's end delayed each retry of 2,000 refused clients
   * by seconds in faults-gateway-kill.test.ts). Until ended, the socket stays CONNECTING.
   */
  onRefusal?: (status: number) => void;
}

/** Redials of one client after an early drop, at most. */
const MAX_EARLY_DROPS = 2;

/**
 * One connection to `/v1/stream` on the `ws` library: records every message,
 * ping and the close, and lets a test await any of them (no sleeps). The
 * tests use it directly; ResumingClient (the soak, the fault tests with
 * thousands of clients) opens one per connection, with `keepMessages` off.
 */
export class StreamClient {
  readonly messages: ReceivedMessage[] = [];
  /** Byte size of each message as received, index-aligned with `messages`. */
  readonly rawSizes: number[] = [];
  readonly pingTimes: number[] = [];
  closeCode: number | null = null;
  closeReason = '';
  unexpectedResponse: { status: number; body: string } | null = null;
  /** Sockets the server dropped right after their upgrade, before any message, and that were dialled again. */
  earlyDrops = 0;
  /** Messages received, kept or not. */
  private received = 0;
  private socket!: WebSocket;
  private ending = false;
  private readonly listeners = new Set<() => void>();
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private resolveClosed!: (close: { code: number; reason: string }) => void;
  private resolveOpened!: () => void;
  private rejectOpened!: (err: Error) => void;

  constructor(
    private readonly url: string,
    private readonly options: StreamClientOptions = {},
  ) {
    this.opened = new Promise((resolve, reject) => {
      this.resolveOpened = resolve;
      this.rejectOpened = reject;
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.dial();
  }

  /**
   * The current socket (a new one after a redial). End the client with
   * close() or terminate(), not through this socket: a socket ended here
   * before any message looks like the server's early drop, and is redialled.
   */
  get ws(): WebSocket {
    return this.socket;
  }

  private dial(): void {
    const ws = new WebSocket(this.url, {
      headers: this.options.headers,
      localAddress: this.options.localAddress,
      autoPong: this.options.autoPong ?? true,
      perMessageDeflate: this.options.perMessageDeflate ?? true,
    });
    this.socket = ws;
    let upgraded = false;
    ws.once('open', () => {
      upgraded = true;
      this.resolveOpened();
    });
    ws.once('error', (err) => this.rejectOpened(err));
    ws.on('unexpected-response', (_req, res) => {
      this.options.onRefusal?.(res.statusCode ?? 0);
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => {
        this.unexpectedResponse = { status: res.statusCode ?? 0, body };
        this.notify();
      });
    });
    const keep = this.options.keepMessages ?? true;
    const onMessage = this.options.onMessage;
    ws.on('message', (data: Buffer) => {
      this.received++;
      onMessage?.(data);
      if (keep) {
        this.rawSizes.push(data.length);
        this.messages.push(JSON.parse(data.toString()) as ReceivedMessage);
      }
      this.notify();
    });
    ws.on('ping', () => {
      this.pingTimes.push(performance.now());
      this.notify();
    });
    ws.on('error', () => this.notify());
    ws.once('close', (code, reason) => {
      const earlyDrop = upgraded && code === 1006 && this.received === 0 && !this.ending;
      if (earlyDrop && (this.options.retryEarlyDrops ?? true) && this.earlyDrops < MAX_EARLY_DROPS) {
        this.earlyDrops++;
        this.dial();
        return;
      }
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.notify();
      this.resolveClosed({ code, reason: this.closeReason });
    });
  }

  /** Resolves once `condition` holds (checked on every message, ping and close). */
  until<T>(condition: () => T | undefined | false | null, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    const now = condition();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = condition();
        if (value) {
          cleanup();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`timed out waiting for ${what}; got ${this.messages.length} messages, close ${this.closeCode}`),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  /** Waits for the n-th message (1-based) matching `match`. */
  waitFor(match: (m: ReceivedMessage) => boolean, count = 1, timeoutMs = 10_000): Promise<ReceivedMessage[]> {
    return this.until(
      () => {
        const found = this.messages.filter(match);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
      `${count} matching message(s)`,
    );
  }

  /** Waits for the HTTP refusal of the upgrade (e.g. 429). */
  waitForRefusal(timeoutMs = 10_000): Promise<{ status: number; body: string }> {
    return this.until(() => this.unexpectedResponse, timeoutMs, 'HTTP refusal');
  }

  ofType(type: string): ReceivedMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ending = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closed;
  }

  terminate(): void {
    this.ending = true;
    this.ws.terminate();
  }

  private notify(): void {
    if (this.listeners.size === 0) return;
    for (const l of [...this.listeners]) l();
  }
}
