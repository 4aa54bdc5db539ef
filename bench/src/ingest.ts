/**
 * `pnpm bench --ingest [--ingest-seconds N] [--ingest-rounds N] [--in-flight N]` (issue 16)
 *
 * How many events/s one Redis takes through the real ingest server, and what
 * each costs Redis, for the publish paths of ingest-paths.ts side by side in
 * the same run (rounds interleave the paths, so machine load hits all alike):
 * - `per-event` (the old path, baseline), `chunked` (shipped), `chunk-frames`
 *   (chunked with one pub/sub message per chunk: measured, not shipped);
 * - one and two publisher processes (pinned to core 0; Redis, the load
 *   generator and one raw subscriber standing in for a gateway on core 1);
 * - `aircraft` updates (entity scope, 10,000 ids) and `alerts` with unique
 *   `data.id`s (log scope: the dedupe check runs for every event).
 * Each request is a 1,000-event NDJSON batch, `--in-flight` (default 4) per
 * publisher. Reported per row: events/s accepted; Redis µs per event from
 * INFO commandstats (time inside commands, scripts included) and from Redis'
 * own CPU (INFO cpu: commands plus network I/O); publisher CPU µs per event;
 * p50/p99 of a batch's round trip; and, with one batch in flight, the
 * latency of a lone 1,000-event batch.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import { redisChannels } from '@hydra/backplane';
import { INGEST_BATCH, INGEST_WARMUP_MS, IngestLoad, MAX_WINDOW_MS, MIN_BATCHES } from './ingest-load.js';
import type { IngestPath } from './ingest-paths.js';
import { resultsDir } from './paths.js';
import { cpuSeconds, pin, sleep, stopChild, track } from './procs.js';
import type { BenchRedis } from './redis.js';
import { SERVER_CPUS } from './scenarios.js';

const AIRCRAFT_IDS = 10_000;
/** A publisher process starts in well under a second; a machine loaded many times over its cores needs far longer. */
const START_TIMEOUT_MS = 90_000;
const RETENTION = '';

export interface IngestOptions {
  seconds: number;
  rounds: number;
  inFlight: number;
}

type Feed = 'aircraft' | 'alerts';

interface RowSpec {
  path: IngestPath;
  publishers: number;
  feed: Feed;
  inFlight: number;
}

export interface IngestRow extends RowSpec {
  round: number;
  eventsPerSec: number;
  errors: number;
  redisCmdUsPerEvent: number;
  redisCpuUsPerEvent: number;
  publisherCpuUsPerEvent: number;
  p50Ms: number;
  p99Ms: number;
  subscriberMBps: number;
}

export function parseIngestArgs(argv: string[]): IngestOptions {
  const o: IngestOptions = { seconds: 5, rounds: 2, inFlight: 4 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = () => Number(argv[++i]);
    if (a === '--ingest-seconds') o.seconds = next();
    else if (a === '--ingest-rounds') o.rounds = next();
    else if (a === '--in-flight') o.inFlight = next();
  }
  return o;
}

export function aircraftBody(k: number): string {
  const lines: string[] = [];
  for (let i = 0; i < INGEST_BATCH; i++) {
    const n = (k * INGEST_BATCH + i) % AIRCRAFT_IDS;
    lines.push(
      `{"scope":"aircraft","data":{"id":"a${n}","lat":${(n % 170) - 85 + 0.25},"lon":${(n % 350) - 175 + 0.5},"altBaroFt":${30_000 + (k % 100)},"callsign":"BNC${n}"}}`,
    );
  }
  return lines.join('\n');
}

export function alertsBody(tag: string, k: number): string {
  const lines: string[] = [];
  for (let i = 0; i < INGEST_BATCH; i++) {
    lines.push(`{"scope":"alerts","data":{"id":"${tag}-${k}-${i}","headline":"bench alert ${i}","severity":"Minor"}}`);
  }
  return lines.join('\n');
}

/** Forks an ingest server (ingest-publisher.ts) on `path`, pinned to `cpus` (default: the server core). */
export function startPublisher(
  path: IngestPath,
  redisUrl: string,
  cpus: string = SERVER_CPUS,
): Promise<{ child: ChildProcess; port: number }> {
  const child = track(
    fork(new URL('./ingest-publisher.js', import.meta.url).pathname, [path, redisUrl, RETENTION], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    }),
  );
  if (child.pid) pin(child.pid, cpus);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`ingest publisher did not start within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve({ child, port: (m as { port: number }).port });
    });
    child.once('exit', (code) => reject(new Error(`ingest publisher exited with ${code}`)));
  });
}

/** A gateway stand-in: one raw connection SUBSCRIBEd to the feeds' channels, counting bytes without parsing. */
function rawSubscriber(port: number): Promise<{ bytes: () => number; close: () => void }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`SUBSCRIBE ${redisChannels.scopeEvents('aircraft')} ${redisChannels.scopeEvents('alerts')}\r\n`);
      resolve({ bytes: () => bytes, close: () => socket.destroy() });
    });
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('error', reject);
  });
}

export async function redisCounters(redis: BenchRedis): Promise<{ cmdUs: number; cpuS: number }> {
  const stats = await redis.client.info('commandstats');
  let cmdUs = 0;
  for (const m of stats.matchAll(/^cmdstat_[^:]+:calls=\d+,usec=(\d+)/gm)) cmdUs += Number(m[1]);
  const cpu = await redis.client.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? Number.NaN);
  return { cmdUs, cpuS: field('used_cpu_user') + field('used_cpu_sys') };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runRow(redis: BenchRedis, spec: RowSpec, round: number, seconds: number): Promise<IngestRow> {
  await redis.client.flushall();
  const publishers = await Promise.all(
    Array.from({ length: spec.publishers }, () => startPublisher(spec.path, redis.url)),
  );
  const subscriber = await rawSubscriber(redis.port);
  const aircraft = Array.from({ length: 10 }, (_, k) => aircraftBody(k));
  const load = new IngestLoad(
    publishers.map(({ port }) => port),
    spec.inFlight,
    (p, lane, k) =>
      spec.feed === 'aircraft' ? aircraft[k % aircraft.length]! : alertsBody(`r${round}p${p}l${lane}`, k),
  );
  await sleep(INGEST_WARMUP_MS);
  let cpu0: number[] = [];
  let cpu1: number[] = [];
  let redis0 = { cmdUs: 0, cpuS: 0 };
  let redis1 = redis0;
  let bytes0 = 0;
  let bytes1 = 0;
  const elapsedS = await load.measure(
    seconds,
    async () => {
      cpu0 = publishers.map(({ child }) => cpuSeconds(child.pid ?? 0));
      redis0 = await redisCounters(redis);
      bytes0 = subscriber.bytes();
    },
    async () => {
      redis1 = await redisCounters(redis);
      cpu1 = publishers.map(({ child }) => cpuSeconds(child.pid ?? 0));
      bytes1 = subscriber.bytes();
    },
  );
  await load.stop();
  subscriber.close();
  await Promise.all(publishers.map(({ child }) => stopChild(child, 3_000)));
  const { events, errors, latencies } = load;
  const perEvent = (x: number) => (events > 0 ? x / events : Number.NaN);
  return {
    ...spec,
    round,
    eventsPerSec: events / elapsedS,
    errors,
    redisCmdUsPerEvent: perEvent(redis1.cmdUs - redis0.cmdUs),
    redisCpuUsPerEvent: perEvent((redis1.cpuS - redis0.cpuS) * 1e6),
    publisherCpuUsPerEvent: perEvent(cpu1.reduce((s, c, i) => s + c - cpu0[i]!, 0) * 1e6),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    subscriberMBps: (bytes1 - bytes0) / elapsedS / 1e6,
  };
}

function specs(inFlight: number): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const publishers of [1, 2]) {
    for (const path of ['per-event', 'chunked'] as const) rows.push({ path, publishers, feed: 'aircraft', inFlight });
  }
  rows.push({ path: 'chunk-frames', publishers: 1, feed: 'aircraft', inFlight });
  for (const path of ['per-event', 'chunked'] as const) rows.push({ path, publishers: 1, feed: 'alerts', inFlight });
  // A lone batch: its latency without queueing behind others.
  for (const path of ['per-event', 'chunked'] as const)
    rows.push({ path, publishers: 1, feed: 'aircraft', inFlight: 1 });
  return rows;
}

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

export async function runIngest(argv: string[], redis: BenchRedis, progress: (line: string) => void): Promise<void> {
  const o = parseIngestArgs(argv);
  const load0 = loadavg();
  const rows: IngestRow[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (const spec of specs(o.inFlight)) {
      const row = await runRow(redis, spec, round, o.seconds);
      progress(
        `ingest r${round} ${spec.path} ×${spec.publishers} ${spec.feed} in-flight ${spec.inFlight}: ${f(row.eventsPerSec, 0)} ev/s, Redis ${f(row.redisCmdUsPerEvent, 2)} µs/ev (cmd) ${f(row.redisCpuUsPerEvent, 2)} µs/ev (cpu), p99 ${f(row.p99Ms)} ms${row.errors ? `, ${row.errors} errors` : ''}`,
      );
      rows.push(row);
    }
  }
  const load1 = loadavg();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    `${resultsDir}/ingest-${stamp}.json`,
    JSON.stringify({ options: o, load: [load0, load1], rows }, null, 2),
  );
  writeFileSync(`${resultsDir}/ingest-${stamp}.md`, report(o, rows, [load0, load1]));
  progress(`ingest report: bench/results/ingest-${stamp}.md`);
}

function report(o: IngestOptions, rows: readonly IngestRow[], load: number[][]): string {
  const lines = [
    `# Ingest into one Redis (issue 16)`,
    '',
    `${o.rounds} interleaved rounds; per row at least ${o.seconds} s and ${MIN_BATCHES} answered batches (at most ${MAX_WINDOW_MS / 1000} s), after ${INGEST_WARMUP_MS} ms warm-up; 1,000-event NDJSON batches.`,
    "Redis µs/event (CPU) is Redis' own CPU time (INFO cpu) per event: commands and network I/O. Redis µs/event (commands) is INFO commandstats time, which on a loaded machine also counts the time Redis was descheduled inside a command: read the CPU column.",
    `Load average at start ${load[0]!.map((x) => x.toFixed(1)).join(' / ')}, at end ${load[1]!.map((x) => x.toFixed(1)).join(' / ')} (2 cores, shared).`,
    '',
    '| round | path | publishers | feed | in flight | events/s | Redis µs/event (commands) | Redis µs/event (CPU) | publisher CPU µs/event | batch p50 ms | batch p99 ms | subscriber MB/s | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.round} | ${r.path} | ${r.publishers} | ${r.feed} | ${r.inFlight} | ${f(r.eventsPerSec, 0)} | ${f(r.redisCmdUsPerEvent, 2)} | ${f(r.redisCpuUsPerEvent, 2)} | ${f(r.publisherCpuUsPerEvent, 1)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${f(r.subscriberMBps)} | ${r.errors} |`,
    ),
    '',
    '## Ratios, chunked ÷ per-event, same round',
    '',
    '| round | publishers | feed | in flight | events/s | Redis µs/event (commands) | Redis µs/event (CPU) | batch p99 |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows.filter((x) => x.path === 'chunked')) {
    const base = rows.find(
      (x) =>
        x.path === 'per-event' &&
        x.round === r.round &&
        x.publishers === r.publishers &&
        x.feed === r.feed &&
        x.inFlight === r.inFlight,
    );
    if (!base) continue;
    lines.push(
      `| ${r.round} | ${r.publishers} | ${r.feed} | ${r.inFlight} | ${f(r.eventsPerSec / base.eventsPerSec, 2)}× | ${f(r.redisCmdUsPerEvent / base.redisCmdUsPerEvent, 2)}× | ${f(r.redisCpuUsPerEvent / base.redisCpuUsPerEvent, 2)}× | ${f(r.p99Ms / base.p99Ms, 2)}× |`,
    );
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}
