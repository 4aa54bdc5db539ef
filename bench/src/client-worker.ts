/**
 * Load-generator worker (forked by the orchestrator, driven over IPC).
 *
 * Raw WebSocket clients over `net`: a fixed-key upgrade request, an
 * incremental frame parser, pong replies; payload fields are read with byte
 * scans, not JSON.parse, so the client stays far cheaper than any server.
 * Each client binds its own loopback source address (127.<octet>.x.y,
 * `perIp` clients each) so the servers' per-IP limits stay on.
 *
 * Why not `@hydra/stream-client` (the client of the tests and the soak): the
 * bench measures, so its client must cost far less than the server under
 * test and must speak to the peers too (socket.io, Centrifugo, Pusher
 * framing). It reads raw frames from one shared read buffer with no `ws`
 * object, event or Buffer per message, and counts socket reads per message
 * (how a server batches writes) — none of which `ws` exposes. The stream
 * clients keep `ws` for the protocol checks (close codes, refusals, resume).
 */
import net from 'node:net';
import { frameSeq, snapshotFrameHeader } from '@hydra/protocol';
import { Histogram } from './histogram.js';
import {
  type ConnectPlan,
  FIELD_COUNTER,
  FIELD_SCOPE,
  FIELD_TIME,
  type WorkerCommand,
  type WorkerEvent,
  type WorkerStats,
} from './protocol.js';
import {
  countOccurrences,
  encodeClientFrame,
  FrameParser,
  MessageInflater,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  readNumberAfter,
  upgradeRequest,
} from './ws-frame.js';

const K_SCOPE = Buffer.from(FIELD_SCOPE);
const K_COUNTER = Buffer.from(FIELD_COUNTER);
const K_TIME = Buffer.from(FIELD_TIME);
const SNAPSHOT_PREFIX = Buffer.from('{"type":"snapshot"');
const CONNECTED_PREFIX = Buffer.from('{"type":"connected"');
const HEADER_END = Buffer.from('\r\n\r\n');
const SIO_PONG = encodeClientFrame(OP_TEXT, '3');
const SIO_CONNECT = encodeClientFrame(OP_TEXT, '40');
const CENTRIFUGE_CONNECT = encodeClientFrame(OP_TEXT, '{"id":1}');
const PUSHER_PONG = encodeClientFrame(OP_TEXT, '{"event":"pusher:pong","data":{}}');
const MAX_SCOPES = 8;
/** The read buffer every socket of this worker shares (see openClient). */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
/** Diagnostics only: read through 'data' events (a Buffer and a stream push per read) instead. */
const STREAM_READS = process.env.BENCH_CLIENT_STREAM_READS === '1';

interface Client {
  sock: net.Socket;
  parser: FrameParser | null;
  subs: number[];
  last: Float64Array;
  lastSeq: Float64Array;
  paused: boolean;
  done: boolean;
  /** Reads the messages when the client offered permessage-deflate (in order, inflating compressed ones); else null. */
  inflater: MessageInflater | null;
}

const send = (m: WorkerEvent) => process.send?.(m);

let clients: Client[] = [];
let latency = new Histogram();
let messages = 0;
let messagesAtMark = 0;
/** Socket reads (data chunks) of upgraded clients: messages per read shows how the server batches writes. */
let reads = 0;
/** Bytes of the counted messages (WebSocket payload, protocol envelope included). */
let messageBytes = 0;
/** Hydra live messages without the bench's payload fields (removals: `left_area`, `deleted`), and their bytes. */
let otherMessages = 0;
let otherBytes = 0;
let wireBytes = 0;
let readsAtMark = 0;
let gaps = 0;
let dups = 0;
let seqGaps = 0;
let seqDups = 0;
let pings = 0;
let closedByServer = 0;
let pausedClosed = 0;
/** Whole snapshots received (their last part, `complete: true`) and snapshot messages (parts). */
let snapshots = 0;
let snapshotParts = 0;
let snapshotItems = 0;
let lastSnapshotMs = 0;
let connectStart = performance.now();
let connectMs = 0;
let failed = 0;
let failures: Record<string, number> = {};
let cpuAt = process.cpuUsage();
let wallAt = performance.now();
let scopeNames: string[] = [];
let nowUs = 0;

/** CLOCK_MONOTONIC in µs, the publisher's clock (process.hrtime() avoids a BigInt per read). */
function nowMicros(): number {
  const [sec, ns] = process.hrtime();
  return sec * 1e6 + ns / 1e3;
}

function fail(reason: string): void {
  failed++;
  failures[reason] = (failures[reason] ?? 0) + 1;
}

function onLive(c: Client, p: Buffer): void {
  const s = readNumberAfter(p, K_SCOPE);
  const n = readNumberAfter(p, K_COUNTER);
  const t = readNumberAfter(p, K_TIME);
  if (s < 0 || n < 0 || t < 0) {
    otherMessages++;
    otherBytes += p.length;
    return;
  }
  messages++;
  messageBytes += p.length;
  if (!c.paused) latency.record(nowUs - t);
  const i = s % MAX_SCOPES;
  const prev = c.last[i] as number;
  if (prev > 0) {
    if (n > prev + 1) gaps += n - prev - 1;
    else if (n <= prev) dups++;
  }
  if (n > prev) c.last[i] = n;
}

// Hydra's own fields (seq, snapshot headers) are read with @hydra/protocol's frame readers; the zz* payload
// fields and the other servers' envelopes with this worker's byte scans.
function onHydraLive(c: Client, p: Buffer): void {
  const s = readNumberAfter(p, K_SCOPE);
  const seq = frameSeq(p);
  if (s >= 0 && seq >= 0) {
    const i = s % MAX_SCOPES;
    const prev = c.lastSeq[i] as number;
    if (prev > 0) {
      if (seq > prev + 1) seqGaps += seq - prev - 1;
      else if (seq <= prev) seqDups++;
    }
    if (seq > prev) c.lastSeq[i] = seq;
  }
  onLive(c, p);
}

function onSnapshot(c: Client, p: Buffer): void {
  snapshotParts++;
  const header = snapshotFrameHeader(p);
  if (header?.complete !== false) snapshots++;
  const items = countOccurrences(p, K_COUNTER);
  snapshotItems += items;
  if (header) {
    const i = scopeNames.indexOf(header.scope);
    if (i >= 0) c.lastSeq[i % MAX_SCOPES] = header.seq;
  }
  lastSnapshotMs = performance.now() - connectStart;
}

function handleText(c: Client, protocol: ConnectPlan['protocol'], p: Buffer): void {
  switch (protocol) {
    case 'hydra':
      if (p.length > 18 && p.compare(SNAPSHOT_PREFIX, 0, SNAPSHOT_PREFIX.length, 0, SNAPSHOT_PREFIX.length) === 0) {
        onSnapshot(c, p);
      } else if (p.compare(CONNECTED_PREFIX, 0, CONNECTED_PREFIX.length, 0, CONNECTED_PREFIX.length) !== 0) {
        onHydraLive(c, p);
      }
      return;
    case 'sio': {
      const c0 = p[0];
      if (c0 === 0x32 /* '2' ping */ && p.length === 1) {
        pings++;
        c.sock.write(SIO_PONG);
      } else if (c0 === 0x30 /* '0' open */) {
        c.sock.write(SIO_CONNECT);
      } else if (c0 === 0x34 && p[1] === 0x32 /* '42' event */) {
        onLive(c, p);
      }
      return;
    }
    case 'pusher':
      if (p.indexOf('"pusher:') >= 0 || p.indexOf('"pusher_internal:') >= 0) {
        if (p.indexOf('pusher:connection_established') >= 0) {
          for (const s of c.subs) {
            const name = scopeNames[s] as string;
            c.sock.write(
              encodeClientFrame(OP_TEXT, `{"event":"pusher:subscribe","data":{"auth":"","channel":"${name}"}}`),
            );
          }
        } else if (p.indexOf('pusher:ping') >= 0) {
          pings++;
          c.sock.write(PUSHER_PONG);
        }
        return;
      }
      onLive(c, p);
      return;
    case 'raw':
      onLive(c, p);
      return;
    case 'centrifuge': {
      // Several replies per frame, one JSON document per line: count each.
      let from = 0;
      for (let nl = p.indexOf(0x0a); nl >= 0; nl = p.indexOf(0x0a, from)) {
        onLive(c, p.subarray(from, nl));
        from = nl + 1;
      }
      if (from < p.length) onLive(c, p.subarray(from));
      return;
    }
  }
}

function openClient(plan: ConnectPlan, index: number, onDone: (ok: boolean) => void): void {
  const ipIndex = Math.floor(index / plan.perIp);
  const localAddress = `127.${plan.ipOctet}.${Math.floor(ipIndex / 250) % 250}.${(ipIndex % 250) + 1}`;
  const path = plan.paths[index % plan.paths.length] as string;
  const subs = plan.subs[index % plan.subs.length] ?? [];
  // Reads land in one buffer shared by every socket of this worker and are parsed
  // synchronously (no Buffer allocated and no stream machinery per read).
  const sock = STREAM_READS
    ? net.connect({ host: '127.0.0.1', port: plan.port, localAddress })
    : net.connect({
        host: '127.0.0.1',
        port: plan.port,
        localAddress,
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array) => {
            onChunk(Buffer.from(buf.buffer, buf.byteOffset, n));
            return true;
          },
        },
      });
  sock.setNoDelay(true);
  const c: Client = {
    sock,
    parser: null,
    subs,
    last: new Float64Array(MAX_SCOPES),
    lastSeq: new Float64Array(MAX_SCOPES),
    paused: false,
    done: false,
    inflater: null,
  };
  const protocol = plan.protocol;
  if (plan.deflate && index % (plan.inflateEvery ?? 1) === 0) {
    c.inflater = new MessageInflater((payload) => {
      nowUs = nowMicros(); // inflated later than read: the latency counts the inflate wait too
      handleText(c, protocol, payload);
    });
  }
  let head: Buffer | null = null;
  let settled = false;
  const settle = (ok: boolean, reason?: string) => {
    if (settled) return;
    settled = true;
    if (!ok) fail(reason ?? 'error');
    onDone(ok);
  };
  sock.on('connect', () => sock.write(upgradeRequest(`127.0.0.1:${plan.port}`, path, plan.deflate)));
  const onChunk = (chunk: Buffer) => {
    nowUs = nowMicros();
    if (c.parser) {
      reads++;
      wireBytes += chunk.length;
      try {
        c.parser.push(chunk);
      } catch {
        sock.destroy();
      }
      return;
    }
    // `chunk` is the worker's shared read buffer: keep a copy.
    head = head === null ? Buffer.from(chunk) : Buffer.concat([head, chunk]);
    const end = head.indexOf(HEADER_END);
    if (end < 0) {
      if (head.length > 8192) sock.destroy();
      return;
    }
    const status = head.toString('latin1', 9, 12);
    if (status !== '101') {
      settle(false, `http_${status}`);
      sock.destroy();
      return;
    }
    c.parser = new FrameParser((opcode, payload, compressed) => {
      if (opcode === OP_TEXT) {
        if (c.inflater) c.inflater.push(payload, compressed);
        else if (compressed)
          messages++; // counted, not read (ConnectPlan.inflateEvery)
        else handleText(c, protocol, payload);
      } else if (opcode === OP_PING) {
        pings++;
        sock.write(encodeClientFrame(OP_PONG, payload));
      } else if (opcode === OP_CLOSE) {
        c.done = true;
        sock.end();
      }
    });
    // Centrifuge subscribes server-side once the client's connect command arrives.
    if (protocol === 'centrifuge') sock.write(CENTRIFUGE_CONNECT);
    clients.push(c);
    settle(true);
    const rest = head.subarray(end + 4);
    wireBytes += rest.length;
    head = null;
    if (rest.length > 0) c.parser.push(rest);
  };
  if (STREAM_READS) sock.on('data', onChunk);
  sock.on('error', (err: NodeJS.ErrnoException) => settle(false, err.code ?? 'error'));
  sock.on('close', () => {
    c.inflater?.close();
    if (!settled) settle(false, 'closed');
    else {
      closedByServer++;
      if (c.paused) pausedClosed++;
    }
  });
}

/** Opens plan.count clients at most rampPerSec per second and maxInflight at once. */
function connectAll(plan: ConnectPlan): void {
  scopeNames = plan.scopeNames;
  connectStart = performance.now();
  let started = 0;
  let finished = 0;
  let inflight = 0;
  let ok = 0;
  const failedBefore = failed;
  const deadline = connectStart + plan.timeoutMs;
  let reported = false;
  const report = () => {
    if (reported) return;
    reported = true;
    clearInterval(timer);
    connectMs = performance.now() - connectStart;
    send({ ev: 'connected', open: ok, failed: failed - failedBefore, failures, ms: connectMs });
  };
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((plan.rampPerSec * tickMs) / 1000));
  const timer = setInterval(() => {
    if (performance.now() > deadline) {
      report();
      return;
    }
    for (let k = 0; k < perTick && started < plan.count && inflight < plan.maxInflight; k++) {
      inflight++;
      openClient(plan, started++, (success) => {
        inflight--;
        finished++;
        if (success) ok++;
        if (finished === plan.count) report();
      });
    }
  }, tickMs);
  if (plan.count === 0) report();
}

function stats(): WorkerStats {
  const cpu = process.cpuUsage(cpuAt);
  return {
    open: clients.filter((c) => !c.sock.destroyed && !c.done).length,
    failed,
    failures,
    closedByServer,
    pausedClosed,
    paused: clients.filter((c) => c.paused).length,
    messages,
    messagesAtMark,
    reads,
    readsAtMark,
    messageBytes,
    otherMessages,
    otherBytes,
    wireBytes,
    gaps,
    dups,
    seqGaps,
    seqDups,
    pings,
    snapshots,
    snapshotParts,
    snapshotItems,
    lastSnapshotMs,
    latency: latency.toSparse(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    cpuSysMs: cpu.system / 1000,
    wallMs: performance.now() - wallAt,
    connectMs,
  };
}

function reset(): void {
  latency = new Histogram();
  messages = 0;
  messagesAtMark = 0;
  reads = 0;
  readsAtMark = 0;
  messageBytes = 0;
  otherMessages = 0;
  otherBytes = 0;
  wireBytes = 0;
  gaps = 0;
  dups = 0;
  seqGaps = 0;
  seqDups = 0;
  pings = 0;
  closedByServer = 0;
  pausedClosed = 0;
  cpuAt = process.cpuUsage();
  wallAt = performance.now();
  for (const c of clients) c.last.fill(0);
}

process.on('message', (m: WorkerCommand) => {
  switch (m.cmd) {
    case 'connect':
      failures = {};
      failed = 0;
      snapshots = 0;
      snapshotParts = 0;
      snapshotItems = 0;
      lastSnapshotMs = 0;
      connectAll(m);
      return;
    case 'reset':
      reset();
      send({ ev: 'ok' });
      return;
    case 'mark':
      messagesAtMark = messages;
      readsAtMark = reads;
      send({ ev: 'ok' });
      return;
    case 'stats':
      send({ ev: 'stats', stats: stats() });
      return;
    case 'pause': {
      const step = Math.max(1, Math.round(1 / Math.max(1e-6, m.fraction)));
      for (let i = 0; i < clients.length; i += step) {
        const c = clients[i] as Client;
        c.paused = true;
        c.sock.pause();
      }
      send({ ev: 'ok' });
      return;
    }
    case 'close':
      for (const c of clients) c.sock.destroy();
      clients = [];
      send({ ev: 'ok' });
      return;
  }
});
process.on('disconnect', () => process.exit(0));
send({ ev: 'ready' });
