/**
 * Minimal WebSocket client framing (RFC 6455) for the load generator: a
 * server→client frame parser that copes with frames split across TCP chunks
 * and several frames per chunk, and an encoder for the few masked frames a
 * client sends (pong, text). The one extension: permessage-deflate, offered
 * on request, its messages inflated by `messageInflater`.
 */

import zlib from 'node:zlib';

export const OP_CONT = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** `compressed`: RSV1 was set (permessage-deflate, RFC 7692): the payload is deflated. */
export type FrameHandler = (opcode: number, payload: Buffer, compressed: boolean) => void;

/**
 * Incremental parser of unmasked server frames. Fragmented messages are
 * reassembled and delivered once, with the first fragment's opcode.
 */
export class FrameParser {
  /** Bytes of an incomplete frame, kept as the chunks they came in (concatenated once complete). */
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** Bytes needed before parsing can progress (a whole frame once its header is known). */
  private need = 0;
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private fragmentCompressed = false;

  constructor(private readonly onFrame: FrameHandler) {}

  /**
   * Feeds one chunk from the socket. The chunk is only read during the call
   * (it may be a reused read buffer): bytes of an incomplete frame are copied.
   * Throws on frames a server must not send (masked, over 2^53).
   */
  push(chunk: Buffer): void {
    let data = chunk;
    if (this.parts.length > 0) {
      this.parts.push(Buffer.from(chunk));
      this.partsLen += chunk.length;
      if (this.partsLen < this.need) return;
      data = Buffer.concat(this.parts, this.partsLen);
      this.parts = [];
      this.partsLen = 0;
    }
    let off = 0;
    const end = data.length;
    while (off < end) {
      const avail = end - off;
      if (avail < 2) {
        this.keep(data, off, off + 2);
        return;
      }
      const b0 = data[off] as number;
      const b1 = data[off + 1] as number;
      if ((b1 & 0x80) !== 0) throw new Error('masked frame from server');
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (avail < 4) {
          this.keep(data, off, off + 4);
          return;
        }
        len = data.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (avail < 10) {
          this.keep(data, off, off + 10);
          return;
        }
        const hi = data.readUInt32BE(off + 2);
        if (hi > 0x1fffff) throw new Error('frame too long');
        len = hi * 0x100000000 + data.readUInt32BE(off + 6);
        head = 10;
      }
      if (avail < head + len) {
        this.keep(data, off, off + head + len);
        return;
      }
      const payload = data.subarray(off + head, off + head + len);
      off += head + len;
      this.dispatch(b0, payload);
    }
  }

  private keep(data: Buffer, off: number, frameEnd: number): void {
    const rest = Buffer.from(data.subarray(off));
    this.parts = [rest];
    this.partsLen = rest.length;
    this.need = frameEnd - off;
  }

  private dispatch(b0: number, payload: Buffer): void {
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const compressed = (b0 & 0x40) !== 0;
    if (opcode >= 0x8) {
      this.onFrame(opcode, payload, false);
      return;
    }
    if (opcode !== OP_CONT && fin) {
      this.onFrame(opcode, payload, compressed);
      return;
    }
    if (opcode !== OP_CONT) {
      this.fragmentOpcode = opcode;
      this.fragmentCompressed = compressed; // RSV1 is set on a message's first frame only
    }
    this.fragments.push(Buffer.from(payload));
    if (fin) {
      const whole = Buffer.concat(this.fragments);
      this.fragments = [];
      this.onFrame(this.fragmentOpcode, whole, this.fragmentCompressed);
    }
  }
}

/** A masked client frame (FIN set). The mask is fixed: the bench needs framing, not secrecy. */
export function encodeClientFrame(opcode: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = body.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (head === 2) out[1] = 0x80 | len;
  else if (head === 4) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 0x100000000), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  const mask = [0x12, 0x34, 0x56, 0x78];
  for (let i = 0; i < 4; i++) out[head + i] = mask[i] as number;
  for (let i = 0; i < len; i++) out[head + 4 + i] = (body[i] as number) ^ (mask[i & 3] as number);
  return out;
}

/** The HTTP/1.1 upgrade request of a WebSocket client; `deflate` offers permessage-deflate (RFC 7692). */
export function upgradeRequest(host: string, path: string, deflate = false): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
    (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' : '') +
    '\r\n'
  );
}

/** The empty stored block a permessage-deflate sender strips from each message (RFC 7692 §7.2.1). */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Reads one connection's messages when permessage-deflate was negotiated:
 * one zlib stream per connection, so a server's context takeover (a window
 * kept across messages) is followed. Node has no synchronous streaming
 * inflate, so messages are inflated asynchronously, one at a time, and every
 * message (compressed or not) reaches `onMessage` in the order pushed.
 */
export class MessageInflater {
  private readonly inflate = zlib.createInflateRaw();
  private out: Buffer[] = [];
  private readonly queue: Array<{ data: Buffer; compressed: boolean }> = [];
  private busy = false;
  private closed = false;

  constructor(private readonly onMessage: (payload: Buffer) => void) {
    this.inflate.on('data', (chunk: Buffer) => this.out.push(chunk));
    this.inflate.on('error', () => undefined); // a corrupt message: the counts show the loss
  }

  /** `payload` is only read during the call (it may be a reused read buffer). */
  push(payload: Buffer, compressed: boolean): void {
    this.queue.push({ data: compressed ? Buffer.concat([payload, DEFLATE_TAIL]) : Buffer.from(payload), compressed });
    if (!this.busy) this.next();
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.inflate.close();
  }

  private next(): void {
    for (let item = this.queue.shift(); item; item = this.queue.shift()) {
      if (!item.compressed) {
        this.onMessage(item.data);
        continue;
      }
      this.busy = true;
      this.inflate.write(item.data);
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.closed) return;
        const whole = Buffer.concat(this.out);
        this.out = [];
        this.busy = false;
        this.onMessage(whole);
        if (!this.busy) this.next();
      });
      return;
    }
  }
}

/**
 * Reads a non-negative integer that follows `key` in `buf` (skipping up to four
 * quote, backslash, colon or space characters, so `"k":12` and the escaped
 * `\"k\":12` of a JSON-in-JSON payload both work). -1 when absent.
 */
export function readNumberAfter(buf: Buffer, key: Buffer, from = 0): number {
  const at = buf.indexOf(key, from);
  if (at < 0) return -1;
  let i = at + key.length;
  const stop = Math.min(buf.length, i + 4);
  while (i < stop) {
    const c = buf[i] as number;
    if (c >= 48 && c <= 57) break;
    i++;
  }
  let n = 0;
  let digits = 0;
  for (; i < buf.length && digits < 17; i++, digits++) {
    const c = buf[i] as number;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return digits === 0 ? -1 : n;
}

/** How many times `needle` occurs in `buf`. */
export function countOccurrences(buf: Buffer, needle: Buffer): number {
  let n = 0;
  let at = buf.indexOf(needle);
  while (at >= 0) {
    n++;
    at = buf.indexOf(needle, at + needle.length);
  }
  return n;
}
