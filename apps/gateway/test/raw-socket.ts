import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * Raw TCP clients for hostile-input tests: they send what the `ws` library
 * refuses to (oversized, unmasked, fragmented or invalid frames; trickled or
 * oversized HTTP heads) and report exactly what the gateway answered.
 */

export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

export interface Frame {
  fin: boolean;
  /** RSV1: the payload is compressed (permessage-deflate, RFC 7692). */
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
  /** Which TCP read (0-based, counted from the first) completed this frame. */
  read: number;
}

export interface FrameOptions {
  fin?: boolean;
  /** Clients must mask (RFC 6455 §5.1); false sends an illegal unmasked frame. */
  mask?: boolean;
  /** Declare this payload length instead of the real one (to announce a huge frame). */
  declaredLength?: number;
}

/** Encodes one client frame. */
export function encodeFrame(opcode: number, payload: Buffer | string, options: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const mask = options.mask ?? true;
  const length = options.declaredLength ?? data.length;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 255);
  else {
    head.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(...big);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = randomBytes(4);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] ?? 0) ^ (key[i & 3] ?? 0);
  return Buffer.concat([Buffer.from(head), key, masked]);
}

/**
 * An upgrade request head for `path`: the handshake headers, then `headers` (a `Connection`,
 * `Sec-WebSocket-Key` or `Sec-WebSocket-Version` given replaces the default).
 */
export function upgradeRequest(path: string, headers: Record<string, string> | [string, string][] = {}): string {
  const extra = Array.isArray(headers) ? headers : Object.entries(headers);
  const unless = (name: string, line: string) => (extra.some(([k]) => k.toLowerCase() === name) ? [] : [line]);
  const lines = [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    ...unless('connection', 'Connection: Upgrade'),
    ...unless('sec-websocket-key', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`),
    ...unless('sec-websocket-version', 'Sec-WebSocket-Version: 13'),
    ...extra.map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * One raw connection. Collects the HTTP response head, then the server's
 * WebSocket frames; `ended` resolves when the TCP connection is closed.
 */
export class RawClient {
  readonly socket: Socket;
  /** Everything received before the end of the HTTP head (or all of it, if the head never ended). */
  head = '';
  status = 0;
  /** Body bytes of a non-101 answer. */
  body = '';
  readonly frames: Frame[] = [];
  readonly ended: Promise<{ afterMs: number }>;
  readonly connected: Promise<void>;
  private buffer = Buffer.alloc(0);
  /** TCP reads ('data' events) so far. */
  private reads = 0;
  private headDone = false;
  private readonly startedAt = performance.now();
  private readonly listeners = new Set<() => void>();

  constructor(port: number, options: { localAddress?: string } = {}) {
    this.socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.connected.catch(() => undefined);
    this.socket.on('error', () => this.notify());
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.ended = new Promise((resolve) => {
      this.socket.once('close', () => {
        this.notify();
        resolve({ afterMs: performance.now() - this.startedAt });
      });
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  write(data: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  send(opcode: number, payload: Buffer | string, options?: FrameOptions): void {
    this.write(encodeFrame(opcode, payload, options));
  }

  /** Writes `data` `chunkBytes` at a time, one chunk every `everyMs`, until done or the socket closes. */
  trickle(data: string, everyMs: number, chunkBytes = 1): { sent: () => number } {
    let sent = 0;
    const timer = setInterval(() => {
      if (this.socket.destroyed || sent >= data.length) {
        clearInterval(timer);
        return;
      }
      this.socket.write(data.slice(sent, sent + chunkBytes));
      sent += chunkBytes;
    }, everyMs);
    this.socket.once('close', () => clearInterval(timer));
    return { sent: () => Math.min(sent, data.length) };
  }

  /** The status and reason of the server's close frame, if one came. */
  closeFrame(): { code: number; reason: string } | null {
    const frame = this.frames.find((f) => f.opcode === Opcode.Close);
    if (!frame) return null;
    return {
      code: frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005,
      reason: frame.payload.toString('utf8', 2),
    };
  }

  /** JSON text messages received. */
  messages(): { type: string; data?: unknown }[] {
    return this.frames.filter((f) => f.opcode === Opcode.Text).map((f) => JSON.parse(f.payload.toString('utf8')));
  }

  until<T>(condition: () => T | undefined | null | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
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
        reject(new Error(`timed out waiting for ${what}; head ${JSON.stringify(this.head.slice(0, 80))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Waits for the end of the HTTP head (status line parsed) and, for non-101 answers, the body. */
  response(timeoutMs = 10_000): Promise<number> {
    return this.until(() => (this.headDone ? this.status : 0), timeoutMs, 'an HTTP response');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.reads++;
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.headDone) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        this.head = this.buffer.toString('latin1');
      } else {
        this.head = this.buffer.toString('latin1', 0, end);
        this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.head)?.[1] ?? 0);
        this.buffer = this.buffer.subarray(end + 4);
        this.headDone = true;
      }
    }
    if (this.headDone && this.status !== 101) {
      this.body += this.buffer.toString('utf8');
      this.buffer = Buffer.alloc(0);
    } else if (this.headDone) {
      this.parseFrames();
    }
    this.notify();
  }

  private parseFrames(): void {
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      let length = (b[1] ?? 0) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      this.frames.push({
        fin: ((b[0] ?? 0) & 0x80) !== 0,
        rsv1: ((b[0] ?? 0) & 0x40) !== 0,
        opcode: (b[0] ?? 0) & 0x0f,
        payload: Buffer.from(b.subarray(offset, offset + length)),
        read: this.reads - 1,
      });
      this.buffer = b.subarray(offset + length);
    }
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

/** Opens a raw connection and sends an upgrade for `path`; resolves once the HTTP answer's head arrived. */
export async function rawUpgrade(
  port: number,
  path: string,
  options: { headers?: Record<string, string> | [string, string][]; localAddress?: string } = {},
): Promise<RawClient> {
  const client = new RawClient(port, { localAddress: options.localAddress });
  await client.connected;
  client.write(upgradeRequest(path, options.headers));
  await client.response();
  return client;
}
