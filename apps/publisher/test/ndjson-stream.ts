import { type ClientRequest, type IncomingMessage, request } from 'node:http';

/** One acknowledgement line of `POST /v1/events/stream`. */
export interface StreamAck {
  line: number;
  status: 200 | 400 | 503;
  scope?: string;
  seq?: number;
  duplicate?: true;
  reason?: string;
  error?: string;
}

/** The last line of a stream's response. */
export interface StreamEndLine {
  end: string;
  lines: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  failed: number;
  reason?: string;
}

export interface OpenStreamOptions {
  headers?: Record<string, string>;
  localAddress?: string;
}

/**
 * A test client of `POST /v1/events/stream`: writes lines while reading the
 * acknowledgements as they arrive. Waits are on events (an ack, the end,
 * `drain`), each with a deadline that names what was awaited.
 */
export class NdjsonStreamClient {
  readonly acks: StreamAck[] = [];
  endLine: StreamEndLine | undefined;
  /** The response status and, for a refusal, its JSON body. */
  readonly response: Promise<{ status: number; body?: unknown; headers: IncomingMessage['headers'] }>;
  /** Resolves when the response is over (ended, or its connection closed). */
  readonly finished: Promise<void>;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;
  bytesWritten = 0;
  /** The body is waiting for `drain`: the server is not taking more. */
  blocked = false;
  private readonly req: ClientRequest;
  private waiters: Array<() => void> = [];
  private partial = '';
  private over = false;

  constructor(port: number, options: OpenStreamOptions = {}) {
    let resolveResponse: (r: { status: number; body?: unknown; headers: IncomingMessage['headers'] }) => void;
    this.response = new Promise((resolve) => {
      resolveResponse = resolve;
    });
    let resolveFinished: () => void;
    this.finished = new Promise((resolve) => {
      resolveFinished = () => {
        this.over = true;
        resolve();
        this.wake();
      };
    });
    this.req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/events/stream',
        headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked', ...options.headers },
        agent: false,
        localAddress: options.localAddress,
      },
      (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString('utf8');
          });
          res.on('end', () => {
            resolveResponse({ status: res.statusCode ?? 0, body: JSON.parse(text), headers: res.headers });
            resolveFinished();
          });
          return;
        }
        resolveResponse({ status: 200, headers: res.headers });
        res.setEncoding('utf8');
        res.on('data', (text: string) => this.read(text));
        res.on('end', resolveFinished);
        res.on('close', resolveFinished);
        res.on('error', () => {});
      },
    );
    this.closed = new Promise((resolve) => {
      this.req.on('socket', (socket) => socket.once('close', () => resolve()));
    });
    this.req.on('error', () => resolveFinished());
    this.req.on('close', () => resolveFinished());
    this.req.flushHeaders();
  }

  /** Writes `text`; false when the connection is buffering (wait with untilDrained). */
  write(chunk: string | Buffer): boolean {
    if (this.over || this.req.destroyed) return false;
    this.bytesWritten += Buffer.byteLength(chunk);
    return this.req.write(chunk);
  }

  /** Writes each line (a newline added), waiting for `drain` when needed; stops if the response ends first. Returns how many were written. */
  async writeLines(lines: Iterable<string>): Promise<number> {
    let n = 0;
    for (const line of lines) {
      if (this.over) break;
      if (!this.write(`${line}\n`)) {
        if (this.over) break;
        this.blocked = true;
        await new Promise<void>((resolve) => {
          const done = () => {
            this.req.off('drain', done);
            resolve();
          };
          this.req.once('drain', done);
          void this.finished.then(done);
        });
        this.blocked = false;
      }
      n++;
    }
    return n;
  }

  endBody(): void {
    if (!this.req.destroyed) this.req.end();
  }

  destroy(): void {
    this.req.destroy();
  }

  /** Waits until `predicate` holds, checked on every ack and at the end; fails after `timeoutMs` naming `what`. */
  async until(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.over && !predicate())
        throw new Error(`stream ended before ${what} (${this.acks.length} acks, end ${JSON.stringify(this.endLine)})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (${this.acks.length} acks)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  untilAcks(n: number, timeoutMs?: number): Promise<void> {
    return this.until(`${n} acks`, () => this.acks.length >= n, timeoutMs);
  }

  /** The end line, once the response is over. */
  async ended(timeoutMs = 20_000): Promise<StreamEndLine | undefined> {
    await this.until('the end of the response', () => this.over, timeoutMs);
    return this.endLine;
  }

  private read(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const parsed = JSON.parse(line) as StreamAck | StreamEndLine;
      if ('end' in parsed) this.endLine = parsed;
      else this.acks.push(parsed);
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export function openStream(port: number, options?: OpenStreamOptions): NdjsonStreamClient {
  return new NdjsonStreamClient(port, options);
}
