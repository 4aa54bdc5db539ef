import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { EventPublisher, PublishEvent, PublishedEvent } from '@hydra/backplane';
import { parseIngestLine } from '@hydra/protocol';
import { admitItem } from './ingest-item.js';
import type { Logger } from './logger.js';
import type { IngestMetrics, ScopeLabel, StreamEnd } from './metrics.js';
import { type NdjsonLine, NdjsonLines } from './ndjson-lines.js';

export interface IngestStreamLimits {
  /** Longest line in bytes; a longer one gets a 400 acknowledgement and is dropped as it arrives. */
  maxLineBytes: number;
  /** Largest `data` of one item as JSON (admitItem). */
  maxItemBytes: number;
  /** Lines read and not yet acknowledged; at the bound the stream stops reading its request. */
  maxInFlightLines: number;
  /** Characters of line text read and not yet acknowledged; the same. */
  maxInFlightChars: number;
  /** Longest a line waits for its group to fill before the group is published. */
  groupWaitMs: number;
  /** No byte received for this long (while reading) ends the stream. */
  idleTimeoutMs: number;
}

/** How long the connection of a stream ended early stays open, discarding, so the client reads the end before it is closed. */
const LINGER_MS = 2_000;

/** One publish call's worth of lines: consecutive lines, in order; refused ones wait here for their turn to be acknowledged. */
interface Group {
  lines: GroupLine[];
  events: PublishEvent[];
  chars: number;
}

type GroupLine = { no: number; refused?: undefined } | { no: number; refused: string; scope: ScopeLabel };

const newGroup = (): Group => ({ lines: [], events: [], chars: 0 });

/** Why a stream ended early, in its end line: what the client should do about the lines after `lines`. */
const END_REASON: Record<Exclude<StreamEnd, 'complete' | 'client_gone'>, string> = {
  idle_timeout: 'no data for HYDRA_INGEST_STREAM_IDLE_TIMEOUT_MS; send the lines after "lines" in a new stream',
  server_closing: 'the publisher is shutting down; send the lines after "lines" in a new stream (another publisher)',
  backplane_unavailable:
    'Redis is unreachable; lines acknowledged with status 503 and those after "lines" were not stored: send them again (log items with data.id are stored once)',
};

/**
 * One `POST /v1/events/stream`: NDJSON lines in, one NDJSON acknowledgement
 * per non-blank line out, in line order, then one end line.
 *
 * Guarantees (13 in docs/guarantees.md):
 * - a line is acknowledged `status: 200` with its `seq` only once the
 *   backplane stored it (publish resolved); `status: 400` with the batch
 *   path's reason when refused (the other lines go on); `status: 503` when
 *   its group's publish failed (it may be stored in part: a retry stores a
 *   log item with an idempotency key once, as on the batch path);
 * - lines arriving close together are published together: a group is
 *   published when it holds half the in-flight bound or `groupWaitMs` after
 *   its first line, one group at a time per stream, so each scope's lines are
 *   stored in line order;
 * - at most `maxInFlightLines` lines (and `maxInFlightChars` of text) are read
 *   and not yet acknowledged: at the bound, or while the client does not read
 *   its acknowledgements, the request is paused (TCP pushes back on the
 *   client). Of bytes not yet cut into lines it holds what one read brought
 *   and at most `maxLineBytes` of an unterminated line;
 * - it ends with `{"end": …, "lines": N, …}`, N the last line taken (every
 *   non-blank line up to N was acknowledged): `complete` when the body ended;
 *   `idle_timeout`, `server_closing` (drain()), `backplane_unavailable`:
 *   reading stops, the lines already received in full are acknowledged, a
 *   line cut short is dropped, and the connection is closed.
 */
export class IngestStream {
  /** Resolves with how the stream ended, once its response is finished (or the client is gone). */
  readonly done: Promise<StreamEnd>;
  private resolveDone: (end: StreamEnd) => void = () => {};
  private readonly lines: NdjsonLines;
  private readonly socket: Socket;
  private state: 'reading' | 'stopping' | 'ended' = 'reading';
  private endReason: StreamEnd = 'complete';
  private filling = newGroup();
  private publishing: Group | null = null;
  private groupDue = false;
  private groupTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private paused = false;
  /** Whether the connection may serve another request after this one (the client's and the server's choice). */
  private keepAlive = true;
  /** Non-blank lines taken: the next one's index among the request's items (for Idempotency-Key). */
  private items = 0;
  private lastLine = 0;
  private readonly counts = { accepted: 0, duplicates: 0, rejected: 0, failed: 0 };

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly publisher: EventPublisher,
    private readonly metrics: IngestMetrics,
    private readonly limits: IngestStreamLimits,
    private readonly batchKey: string | undefined,
    private readonly logger: Logger,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.lines = new NdjsonLines(limits.maxLineBytes);
    this.socket = req.socket;
  }

  /** Sends the response head and starts reading. */
  start(): void {
    this.metrics.streamOpened();
    // Node closes a connection it will not keep alive as soon as the response is
    // written, even while the client is still sending: the unread bytes make the
    // kernel reset the connection, and a reset can destroy acknowledgements the
    // client has not read yet. So the connection is closed here (finish()), after
    // the client has had the chance to read them.
    this.keepAlive = this.res.shouldKeepAlive;
    this.res.shouldKeepAlive = true;
    this.res.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies that buffer responses (nginx) would hold the acknowledgements back.
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
    this.req.on('data', (chunk: Buffer) => {
      if (this.state !== 'reading') return;
      this.idleTimer?.refresh();
      this.lines.push(chunk);
      this.pump();
    });
    this.req.on('end', () => {
      if (this.state !== 'reading') return;
      this.lines.end();
      this.stopReading('complete');
    });
    this.res.on('drain', () => this.pump());
    // The client went away (or the request broke) before the end line was written.
    this.res.on('close', () => {
      if (this.state !== 'ended') this.end('client_gone');
    });
    this.req.on('error', () => {});
    this.armIdleTimer();
  }

  /** Stops reading and finishes: every line already received in full is acknowledged, then `server_closing`. */
  drain(): Promise<StreamEnd> {
    // The server is closing: this connection serves no other request.
    this.keepAlive = false;
    if (this.state === 'reading') {
      this.lines.stop();
      this.stopReading('server_closing');
    }
    return this.done;
  }

  private stopReading(reason: StreamEnd): void {
    this.state = 'stopping';
    this.endReason = reason;
    clearTimeout(this.idleTimer);
    if (!this.req.readableEnded) this.req.pause();
    this.pump();
  }

  /** Takes lines while the filling group has room, publishes what is due, and pauses or resumes reading. */
  private pump(): void {
    if (this.state === 'ended') return;
    for (;;) {
      if (this.isFull(this.filling)) {
        this.flush();
        if (this.isFull(this.filling)) break;
      }
      const line = this.lines.next();
      if (line === undefined) break;
      this.take(line);
    }
    this.flush();
    this.adjustReading();
    if (this.state === 'stopping' && this.publishing === null && this.filling.lines.length === 0) {
      this.finish(this.endReason);
    }
  }

  private take(line: NdjsonLine): void {
    this.lastLine = line.no;
    if ('tooLong' in line) {
      // It is an item of the request all the same: the items after it keep the indexes they have in a batch.
      this.items++;
      const reason = `line ${line.no}: longer than the limit of ${this.limits.maxLineBytes} bytes (HYDRA_INGEST_STREAM_MAX_LINE_BYTES)`;
      this.add({ no: line.no, refused: reason, scope: 'unknown' }, undefined, 0);
      return;
    }
    let text = line.text;
    // Blank lines count for numbering only (as in an NDJSON batch); a UTF-8 byte order mark may open the stream.
    if (line.no === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length === 0 || (text.charCodeAt(0) <= 0x20 && text.trim() === '')) return;
    const item = admitItem(parseIngestLine(text, line.no), this.items++, this.limits.maxItemBytes, this.batchKey);
    if (item.ok) this.add({ no: line.no }, item.event, text.length);
    else this.add({ no: line.no, refused: item.reason, scope: item.scope }, undefined, text.length);
  }

  private add(line: GroupLine, event: PublishEvent | undefined, chars: number): void {
    const group = this.filling;
    if (group.lines.length === 0) {
      this.groupDue = false;
      this.groupTimer = setTimeout(() => {
        this.groupDue = true;
        this.pump();
      }, this.limits.groupWaitMs);
    }
    group.lines.push(line);
    if (event !== undefined) group.events.push(event);
    group.chars += chars;
    this.metrics.streamLinesInFlight(1);
  }

  /** Half the in-flight bound: one group publishing and one filling stay within it. */
  private isFull(group: Group): boolean {
    return (
      group.lines.length >= Math.max(1, this.limits.maxInFlightLines >> 1) ||
      group.chars >= this.limits.maxInFlightChars >> 1
    );
  }

  /** Publishes the filling group when none is publishing and it is full, due, or the input has stopped. */
  private flush(): void {
    const group = this.filling;
    if (this.publishing !== null || group.lines.length === 0) return;
    if (!(this.groupDue || this.state !== 'reading' || this.isFull(group))) return;
    clearTimeout(this.groupTimer);
    this.filling = newGroup();
    this.publishing = group;
    void this.publish(group);
  }

  private async publish(group: Group): Promise<void> {
    let published: PublishedEvent[] = [];
    let failure: { cause: unknown } | undefined;
    if (group.events.length > 0) {
      const stopTimer = this.metrics.startPublishTimer();
      try {
        published = await this.publisher.publish(group.events);
      } catch (cause) {
        failure = { cause };
      } finally {
        stopTimer();
      }
    }
    this.publishing = null;
    this.release(group);
    if (failure !== undefined) {
      this.fail(group, failure.cause);
      return;
    }
    this.acknowledge(group, published);
    this.pump();
  }

  private acknowledge(group: Group, published: readonly PublishedEvent[]): void {
    let out = '';
    let k = 0;
    for (const line of group.lines) {
      if (line.refused !== undefined) {
        out += refusedAck(line.no, line.refused);
        this.counts.rejected++;
        this.metrics.event(line.scope, 'rejected');
        continue;
      }
      const p = published[k++] as PublishedEvent;
      this.counts.accepted++;
      if (p.duplicate) this.counts.duplicates++;
      this.metrics.event(p.scope, p.duplicate ? 'duplicate' : 'accepted');
      out += `{"line":${line.no},"status":200,"scope":"${p.scope}","seq":${p.seq}${p.duplicate ? ',"duplicate":true' : ''}}\n`;
    }
    this.write(out);
  }

  /**
   * A publish failed: its lines, and those of the group filling behind it,
   * are acknowledged 503 (not stored, or stored in part), reading stops and
   * the stream ends `backplane_unavailable`. Nothing is acknowledged 200.
   */
  private fail(group: Group, cause: unknown): void {
    this.metrics.publishFailure();
    this.logger.error({ err: cause, line: group.lines[0]?.no }, 'stream publish failed: backplane unavailable');
    const behind = this.filling;
    this.filling = newGroup();
    clearTimeout(this.groupTimer);
    this.release(behind);
    let out = '';
    for (const line of [...group.lines, ...behind.lines]) {
      if (line.refused !== undefined) {
        out += refusedAck(line.no, line.refused);
        this.counts.rejected++;
        this.metrics.event(line.scope, 'rejected');
      } else {
        out += `{"line":${line.no},"status":503,"error":"backplane unavailable"}\n`;
        this.counts.failed++;
      }
    }
    this.lines.clear();
    this.write(out);
    if (this.state === 'reading') this.stopReading('backplane_unavailable');
    else {
      this.endReason = 'backplane_unavailable';
      this.pump();
    }
  }

  private release(group: Group): void {
    this.metrics.streamLinesInFlight(-group.lines.length);
  }

  private write(out: string): void {
    if (out !== '' && this.state !== 'ended') this.res.write(out);
  }

  /** Reads while the filling group has room and the client reads its acknowledgements; otherwise pauses the request. */
  private adjustReading(): void {
    if (this.state !== 'reading') return;
    const read = !this.isFull(this.filling) && !this.res.writableNeedDrain;
    if (read && this.paused) {
      this.paused = false;
      this.req.resume();
      this.armIdleTimer();
    } else if (!read && !this.paused) {
      this.paused = true;
      this.req.pause();
      // Not reading by choice is not idleness.
      clearTimeout(this.idleTimer);
      this.metrics.streamBackpressure();
    }
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.state !== 'reading') return;
      this.lines.stop();
      this.stopReading('idle_timeout');
    }, this.limits.idleTimeoutMs);
  }

  /** Writes the end line and ends the response; then closes the connection if the body is still open or keep-alive is off. */
  private finish(reason: StreamEnd): void {
    const { accepted, duplicates, rejected, failed } = this.counts;
    const explained = reason === 'complete' || reason === 'client_gone' ? {} : { reason: END_REASON[reason] };
    const endLine = { end: reason, lines: this.lastLine, accepted, duplicates, rejected, failed, ...explained };
    const close = !this.keepAlive || !this.req.readableEnded;
    this.end(reason);
    this.res.end(`${JSON.stringify(endLine)}\n`);
    if (close) lingerThenClose(this.req, this.res, this.socket);
    const log = reason === 'complete' ? 'debug' : 'info';
    this.logger[log](
      { end: reason, lines: this.lastLine, accepted, duplicates, rejected, failed },
      'ingest stream ended',
    );
  }

  private end(reason: StreamEnd): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.groupTimer);
    clearTimeout(this.idleTimer);
    this.lines.clear();
    // A group still publishing stays counted until its publish settles (release()).
    const waiting = this.filling;
    this.filling = newGroup();
    this.release(waiting);
    this.metrics.streamEnded(reason);
    this.resolveDone(reason);
  }
}

function refusedAck(no: number, reason: string): string {
  return `{"line":${no},"status":400,"reason":${JSON.stringify(reason)}}\n`;
}

/**
 * Closes a stream's connection without losing its response (a lingering
 * close): once the response is written, our side is shut (FIN) and what the
 * client still sends is read and dropped, so the kernel never answers it with
 * a reset that could destroy acknowledgements the client has not read yet.
 * The socket is destroyed when the client closes too, or after LINGER_MS.
 */
function lingerThenClose(req: IncomingMessage, res: ServerResponse, socket: Socket): void {
  res.once('finish', () => {
    req.resume();
    socket.end();
    const cut = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.once('close', () => clearTimeout(cut));
  });
}
