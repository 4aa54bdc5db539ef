import WebSocket from 'ws';

export interface ReceivedMessage {
  type: string;
  seq?: number;
  ts?: number;
  data?: unknown;
  [k: string]: unknown;
}

/**
 * A test client of `/v1/stream` on the `ws` library: records every message,
 * ping and the close, and lets a test await any of them (no sleeps).
 */
export class StreamClient {
  readonly messages: ReceivedMessage[] = [];
  /** Byte size of each message as received, index-aligned with `messages`. */
  readonly rawSizes: number[] = [];
  readonly pingTimes: number[] = [];
  closeCode: number | null = null;
  closeReason = '';
  unexpectedResponse: { status: number; body: string } | null = null;
  readonly ws: WebSocket;
  private readonly listeners = new Set<() => void>();
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(
    url: string,
    options: { headers?: Record<string, string>; localAddress?: string; autoPong?: boolean } = {},
  ) {
    this.ws = new WebSocket(url, {
      headers: options.headers,
      localAddress: options.localAddress,
      autoPong: options.autoPong ?? true,
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => {
        this.unexpectedResponse = { status: res.statusCode ?? 0, body };
        this.notify();
      });
    });
    this.ws.on('message', (data) => {
      this.rawSizes.push((data as Buffer).length);
      this.messages.push(JSON.parse(data.toString()) as ReceivedMessage);
      this.notify();
    });
    this.ws.on('ping', () => {
      this.pingTimes.push(performance.now());
      this.notify();
    });
    this.ws.on('error', () => this.notify());
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.notify();
        resolve({ code, reason: this.closeReason });
      });
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
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closed;
  }

  terminate(): void {
    this.ws.terminate();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}
