/**
 * `pnpm bench --ingest-stream [--ingest-seconds N] [--ingest-rounds N]`
 *
 * The same `aircraft` updates into one Redis through the real ingest server
 * (the shipped `chunked` publish path, one publisher process pinned to core
 * 0; Redis and this load generator on core 1), by transport, rounds
 * interleaving them:
 * - `batch`: 1,000-event NDJSON `POST /v1/events`, 4 or 1 in flight;
 * - `stream`: `POST /v1/events/stream`, 1 or 4 long-lived requests, each
 *   writing lines as fast as the server acknowledges them (at most 4,000
 *   unacknowledged, as the batch rows' 4 requests in flight) and reading one
 *   acknowledgement per line.
 * Per row: events/s acknowledged as stored; publisher CPU µs per event;
 * Redis CPU µs per event (INFO cpu); this load generator's CPU µs per event
 * (what the feed pays); and the latency a line sees: for `batch` a 1,000-line
 * request's round trip, for `stream` from writing a line to reading its
 * acknowledgement (sampled once per 1,000 lines).
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { aircraftBody, percentile, redisCounters, startPublisher } from './ingest.js';
import { post } from './ingest-load.js';
import { BENCH_INGEST_TOKEN } from './ingest-paths.js';
import { resultsDir } from './paths.js';
import { cpuSeconds, sleep, stopChild } from './procs.js';
import type { BenchRedis } from './redis.js';

const BATCH = 1_000;
const WARMUP_MS = 1_000;

interface Spec {
  transport: 'batch' | 'stream';
  /** Requests in flight (batch) or streams open (stream). */
  lanes: number;
}

interface Row extends Spec {
  round: number;
  eventsPerSec: number;
  publisherCpuUsPerEvent: number;
  redisCpuUsPerEvent: number;
  feedCpuUsPerEvent: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

const SPECS: Spec[] = [
  { transport: 'batch', lanes: 4 },
  { transport: 'stream', lanes: 1 },
  { transport: 'batch', lanes: 1 },
  { transport: 'stream', lanes: 4 },
];

interface Lane {
  /** Stops sending and waits (bounded) for the lane to finish. */
  stop(): Promise<void>;
}

interface Tally {
  measuring: boolean;
  events: number;
  errors: number;
  latencies: number[];
}

function batchLane(port: number, bodies: readonly string[], tally: Tally): Lane {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let stopped = false;
  const loop = (async () => {
    for (let k = 0; !stopped; k++) {
      const t0 = performance.now();
      const status = await post(agent, port, bodies[k % bodies.length] as string).catch(() => 0);
      if (!tally.measuring) continue;
      if (status === 200) {
        tally.events += BATCH;
        tally.latencies.push(performance.now() - t0);
      } else tally.errors++;
    }
    agent.destroy();
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Lines a stream may have written and not yet seen acknowledged: the 4 × 1,000 lines of the batch rows' 4 requests in flight. */
const STREAM_WINDOW = 4 * BATCH;

/**
 * One stream: writes the bodies' lines while fewer than STREAM_WINDOW are
 * unacknowledged (as a feed that keeps unacknowledged lines for a resend
 * does; unbounded, the lines would queue in socket buffers and the latency
 * would measure that queue) and counts acknowledgement lines (acks come in
 * line order and every line is valid, so N acks mean lines 1..N are stored;
 * a 503 ack is an error).
 */
function streamLane(port: number, bodies: readonly Buffer[], tally: Tally): Lane {
  let stopped = false;
  let written = 0;
  let acked = 0;
  let waitingDrain = false;
  const samples: Array<{ line: number; at: number; counted: boolean }> = [];
  let resolveEnd: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    resolveEnd = resolve;
  });
  const req = http.request(
    {
      host: '127.0.0.1',
      port,
      path: '/v1/events/stream',
      method: 'POST',
      agent: false,
      headers: {
        authorization: `Bearer ${BENCH_INGEST_TOKEN}`,
        'content-type': 'application/x-ndjson',
        'transfer-encoding': 'chunked',
      },
    },
    (res) => {
      res.on('data', (chunk: Buffer) => {
        let lines = 0;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        if (chunk.includes('"status":503')) tally.errors++;
        const before = acked;
        acked += lines;
        if (tally.measuring) tally.events += acked - before;
        const now = performance.now();
        while (samples.length > 0 && (samples[0]?.line ?? 0) <= acked) {
          const s = samples.shift();
          if (s?.counted && tally.measuring) tally.latencies.push(now - s.at);
        }
        if (!waitingDrain) writeMore();
      });
      res.on('end', resolveEnd);
      res.on('close', resolveEnd);
    },
  );
  req.on('error', resolveEnd);
  const writeMore = () => {
    waitingDrain = false;
    while (!stopped && written - acked < STREAM_WINDOW) {
      const ok = req.write(bodies[(written / BATCH) % bodies.length] as Buffer);
      written += BATCH;
      samples.push({ line: written, at: performance.now(), counted: tally.measuring });
      if (!ok) {
        waitingDrain = true;
        req.once('drain', writeMore);
        return;
      }
    }
  };
  writeMore();
  return {
    stop: async () => {
      stopped = true;
      req.end();
      // The end line comes once the lines written are stored (seconds on a loaded machine).
      await Promise.race([ended, sleep(30_000)]);
      req.destroy();
    },
  };
}

async function runRow(redis: BenchRedis, spec: Spec, round: number, seconds: number): Promise<Row> {
  await redis.client.flushall();
  const { child, port } = await startPublisher('chunked', redis.url);
  const texts = Array.from({ length: 10 }, (_, k) => aircraftBody(k));
  const buffers = texts.map((t) => Buffer.from(`${t}\n`));
  const tally: Tally = { measuring: false, events: 0, errors: 0, latencies: [] };
  const lanes = Array.from({ length: spec.lanes }, () =>
    spec.transport === 'batch' ? batchLane(port, texts, tally) : streamLane(port, buffers, tally),
  );
  await sleep(WARMUP_MS);
  const cpu0 = cpuSeconds(child.pid ?? 0);
  const feed0 = process.cpuUsage();
  const redis0 = await redisCounters(redis);
  const t0 = performance.now();
  tally.measuring = true;
  await sleep(seconds * 1000);
  tally.measuring = false;
  const elapsedS = (performance.now() - t0) / 1000;
  const redis1 = await redisCounters(redis);
  const feed1 = process.cpuUsage(feed0);
  const cpu1 = cpuSeconds(child.pid ?? 0);
  await Promise.all(lanes.map((l) => l.stop()));
  await stopChild(child, 3_000);
  tally.latencies.sort((a, b) => a - b);
  const perEvent = (x: number) => (tally.events > 0 ? x / tally.events : Number.NaN);
  return {
    ...spec,
    round,
    eventsPerSec: tally.events / elapsedS,
    publisherCpuUsPerEvent: perEvent((cpu1 - cpu0) * 1e6),
    redisCpuUsPerEvent: perEvent((redis1.cpuS - redis0.cpuS) * 1e6),
    feedCpuUsPerEvent: perEvent(feed1.user + feed1.system),
    p50Ms: percentile(tally.latencies, 50),
    p99Ms: percentile(tally.latencies, 99),
    errors: tally.errors,
  };
}

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

export async function runIngestStream(
  argv: string[],
  redis: BenchRedis,
  progress: (line: string) => void,
): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    return i === -1 ? fallback : Number(argv[i + 1]);
  };
  const seconds = arg('--ingest-seconds', 5);
  const rounds = arg('--ingest-rounds', 2);
  const load0 = loadavg();
  const rows: Row[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const spec of SPECS) {
      const row = await runRow(redis, spec, round, seconds);
      progress(
        `ingest-stream r${round} ${spec.transport} ×${spec.lanes}: ${f(row.eventsPerSec, 0)} ev/s, publisher ${f(row.publisherCpuUsPerEvent, 2)} µs/ev, Redis ${f(row.redisCpuUsPerEvent, 2)} µs/ev, feed ${f(row.feedCpuUsPerEvent, 2)} µs/ev, p99 ${f(row.p99Ms)} ms${row.errors ? `, ${row.errors} errors` : ''}`,
      );
      rows.push(row);
    }
  }
  const load1 = loadavg();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    `${resultsDir}/ingest-stream-${stamp}.json`,
    JSON.stringify({ seconds, rounds, load: [load0, load1], rows }, null, 2),
  );
  writeFileSync(`${resultsDir}/ingest-stream-${stamp}.md`, report(seconds, rounds, rows, [load0, load1]));
  progress(`ingest-stream report: bench/results/ingest-stream-${stamp}.md`);
}

function report(seconds: number, rounds: number, rows: readonly Row[], load: number[][]): string {
  return `${[
    '# Ingest: batch POST vs stream (issue 16)',
    '',
    `${rounds} interleaved rounds of ${seconds} s per row after ${WARMUP_MS} ms warm-up; \`aircraft\` updates (10,000 ids), the shipped chunked publish path, one publisher process.`,
    'Latency: batch = a 1,000-line request round trip; stream = a line written to its acknowledgement read (one sample per 1,000 lines).',
    `Load average at start ${load[0]?.map((x) => x.toFixed(1)).join(' / ')}, at end ${load[1]?.map((x) => x.toFixed(1)).join(' / ')} (2 cores, shared).`,
    '',
    '| round | transport | in flight / streams | events/s | publisher CPU µs/event | Redis CPU µs/event | feed CPU µs/event | p50 ms | p99 ms | errors |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.round} | ${r.transport} | ${r.lanes} | ${f(r.eventsPerSec, 0)} | ${f(r.publisherCpuUsPerEvent, 2)} | ${f(r.redisCpuUsPerEvent, 2)} | ${f(r.feedCpuUsPerEvent, 2)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${r.errors} |`,
    ),
  ].join('\n')}\n`;
}
