/**
 * `pnpm bench --conflation [--window-ms MS] [--tier-ms MS] [--shapes world:clients,…]`
 *
 * Conflation tiers (issue 17, part 2), side by side in one run: a demo-like
 * `aircraft` world (every aircraft updated once a second, ids cycling over
 * the world) delivered to clients of one gateway all-in (every event) and
 * with `conflate=5000` (each changed aircraft's latest state once per 5 s).
 * Per mode: bytes per client per second (payload with the envelope, as the
 * clients received it), gateway CPU (user + system, of its process), p99
 * event age at the client (receipt time minus the publisher's stamp in the
 * payload: for a conflated client this includes the wait for the tier's
 * flush, by design), and deliveries per second.
 *
 * Shapes: `world:clients`. The issue's world is 10,000 aircraft at 1 Hz with
 * 1,000 clients: 10 million deliveries/s all-in, which this 2-core machine
 * (shared) cannot generate or receive. So the default runs two scaled
 * shapes that keep one side of it each: 10,000 aircraft to 10 clients (the
 * gateway's per-event work at full rate: conflation's cost is per event, not
 * per client) and 100 aircraft to 1,000 clients (the fan-out at full client
 * count). Bytes per client per second and their ratio do not depend on the
 * scaling; CPU is reported per mode of each shape.
 *
 * The measuring window is a whole number of tier intervals (default 20 s =
 * four 5 s flushes), after a warm-up of one interval plus a second, so the
 * conflated bytes per second are those of whole flushes. Every wait is
 * bounded; each mode runs on a fresh gateway, the modes of a shape back to
 * back. Kept in its own file so further variants (a bbox, compression) can
 * add modes here.
 */
import { writeFileSync } from 'node:fs';
import { resultsDir } from './paths.js';
import { cpuTimes, elapsedProgress, installExitHooks, killAll, pin, rssBytes, sleep } from './procs.js';
import { type BenchRedis, startRedis } from './redis.js';
import { hydraKeys, Publisher, SCOPE_NAMES, SERVER_CPUS, SIDE_CPUS } from './scenarios.js';
import { startTarget } from './targets.js';
import { WorkerPool } from './workers.js';

const AIRCRAFT = SCOPE_NAMES.indexOf('aircraft');
/** Payload size of one aircraft update (the demo feed's are 150–250 bytes of JSON). */
const PAYLOAD_BYTES = 200;
const BURST_MS = 20;

export interface ConflationOptions {
  windowMs: number;
  tierMs: 1000 | 5000 | 30000;
  shapes: Array<{ world: number; clients: number }>;
}

/** One measured mode of one shape. */
export interface ConflationRow {
  world: number;
  clients: number;
  /** `all-in`, or `conflate=<ms>`. */
  mode: string;
  eventsPerSec: number;
  bytesPerClientPerSec: number;
  messagesPerClientPerSec: number;
  deliveriesPerSec: number;
  serverCpuPct: number;
  p50AgeMs: number;
  p99AgeMs: number;
  maxAgeMs: number;
  serverRssMb: number;
  closedByServer: number;
  /** The gateway's own count of the connections it closed, by close code (its /metrics). */
  closeCodes: Record<string, number>;
  connected: number;
}

export function parseConflationArgs(argv: string[]): ConflationOptions {
  const o: ConflationOptions = {
    windowMs: 20_000,
    tierMs: 5000,
    shapes: [
      { world: 10_000, clients: 10 },
      { world: 100, clients: 1000 },
    ],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const eq = a.indexOf('=');
      return eq >= 0 ? a.slice(eq + 1) : (argv[++i] ?? '');
    };
    if (a === '--conflation' || a === '--') continue;
    if (a.startsWith('--window-ms')) o.windowMs = Math.max(1000, Math.min(120_000, Number(value()) || 20_000));
    else if (a.startsWith('--tier-ms')) {
      const ms = Number(value());
      if (ms !== 1000 && ms !== 5000 && ms !== 30000) throw new Error('--tier-ms: 1000, 5000 or 30000');
      o.tierMs = ms;
    } else if (a.startsWith('--shapes')) {
      o.shapes = value()
        .split(',')
        .map((s) => {
          const [world, clients] = s.split(':').map(Number);
          if (!(world && clients && world > 0 && clients > 0 && clients <= 5000)) {
            throw new Error('--shapes: world:clients,… e.g. 10000:10,100:1000 (at most 5,000 clients)');
          }
          return { world, clients };
        });
    } else throw new Error(`--conflation: unknown argument ${a}`);
  }
  // Whole flushes only.
  o.windowMs = Math.max(o.tierMs, Math.round(o.windowMs / o.tierMs) * o.tierMs);
  return o;
}

/** Runs one mode: a fresh gateway, `clients` clients, the world published at 1 Hz per aircraft; one row. */
async function runMode(
  redis: BenchRedis,
  publisher: Publisher,
  workers: WorkerPool,
  shape: { world: number; clients: number },
  conflateMs: number,
  o: ConflationOptions,
  progress: (line: string) => void,
): Promise<ConflationRow> {
  const mode = conflateMs > 0 ? `conflate=${conflateMs}` : 'all-in';
  const t = await startTarget('hydra', {
    redisUrl: redis.url,
    redisPort: redis.port,
    serverCpus: SERVER_CPUS,
    sideCpus: SIDE_CPUS,
    pingMs: 15_000,
  });
  try {
    const [key] = await hydraKeys(redis.url, [[AIRCRAFT]]);
    const path = `/v1/stream?apiKey=${encodeURIComponent(key as string)}&snapshot=false${conflateMs > 0 ? `&conflate=${conflateMs}` : ''}`;
    const c = await workers.connect(shape.clients, {
      protocol: 'hydra',
      port: t.port,
      perIp: 10,
      rampPerSec: Math.ceil(2000 / workers.size),
      maxInflight: Math.ceil(200 / workers.size),
      paths: [path],
      subs: [[AIRCRAFT]],
      scopeNames: [...SCOPE_NAMES],
      timeoutMs: 60_000,
    });
    progress(
      `  ${shape.world}:${shape.clients} ${mode}: ${c.open}/${shape.clients} clients in ${(c.ms / 1000).toFixed(1)} s`,
    );
    const warmMs = o.tierMs + 1000;
    const run = publisher.run({
      target: 'hydra',
      redisUrl: redis.url,
      rate: shape.world, // each aircraft once a second
      scopes: [AIRCRAFT],
      scopeNames: [...SCOPE_NAMES],
      durationMs: warmMs + o.windowMs + 2000,
      payloadBytes: PAYLOAD_BYTES,
      entities: shape.world,
      burstMs: BURST_MS,
    });
    await sleep(warmMs);
    await workers.all({ cmd: 'reset' });
    const cpu0 = cpuTimes(t.pid);
    const t0 = performance.now();
    await sleep(o.windowMs);
    const st = await workers.stats();
    const cpu1 = cpuTimes(t.pid);
    const wall = (performance.now() - t0) / 1000;
    const rss = rssBytes(t.pid);
    const closeCodes = await closedByCode(t.adminPort);
    publisher.finish();
    const done = await run;
    const published = done.published.reduce((a, b) => a + b, 0);
    const open = Math.max(1, c.open);
    const us = (x: number) => x / 1000;
    return {
      world: shape.world,
      clients: c.open,
      mode,
      eventsPerSec: Math.round(published / (done.ms / 1000)),
      bytesPerClientPerSec: st.messageBytes / open / wall,
      messagesPerClientPerSec: st.messages / open / wall,
      deliveriesPerSec: st.messages / wall,
      serverCpuPct: (100 * (cpu1.user + cpu1.sys - cpu0.user - cpu0.sys)) / wall,
      p50AgeMs: us(st.latency.percentile(0.5)),
      p99AgeMs: us(st.latency.percentile(0.99)),
      maxAgeMs: us(st.latency.max),
      serverRssMb: rss / 2 ** 20,
      closedByServer: st.closedByServer,
      closeCodes,
      connected: c.open,
    };
  } finally {
    await workers.closeClients().catch(() => undefined);
    await t.stop();
  }
}

/** hydra_connections_closed_total by code, from the gateway's /metrics (empty when the scrape fails). */
async function closedByCode(adminPort: number): Promise<Record<string, number>> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const out: Record<string, number> = {};
    for (const line of (await res.text()).split('\n')) {
      const m = /^hydra_connections_closed_total\{code="(\d+)"\} (\d+)/.exec(line);
      if (m) out[m[1] as string] = Number(m[2]);
    }
    return out;
  } catch {
    return {};
  }
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');

function report(rows: ConflationRow[], o: ConflationOptions, date: string): string {
  const lines = [
    `# Conflation tiers: all-in vs conflate=${o.tierMs} (${date})`,
    '',
    `Window ${o.windowMs / 1000} s (whole ${o.tierMs / 1000} s intervals) after a ${(o.tierMs + 1000) / 1000} s warm-up; each aircraft updated once a second (${PAYLOAD_BYTES}-byte payloads, bursts every ${BURST_MS} ms); clients \`snapshot=false\`; gateway pinned to core 0, clients, publisher and Redis on core 1. Age = receipt time − publisher stamp.`,
    '',
    '| world (aircraft) | clients | mode | events/s in | updates/aircraft/s | bytes/client/s | msgs/client/s | deliveries/s | gateway CPU % | p50 age ms | p99 age ms | max age ms | RSS MB | closed by server |',
    '|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.world} | ${r.clients} | ${r.mode} | ${r.eventsPerSec} | ${f2(r.eventsPerSec / r.world)} | ${f0(r.bytesPerClientPerSec)} | ${f1(r.messagesPerClientPerSec)} | ${f0(r.deliveriesPerSec)} | ${f1(r.serverCpuPct)} | ${f1(r.p50AgeMs)} | ${f0(r.p99AgeMs)} | ${f0(r.maxAgeMs)} | ${f0(r.serverRssMb)} | ${r.closedByServer} |`,
    ),
    '',
    `The 5 s tier's ratio is structural: an aircraft updated u times per second is sent once per interval instead of ${o.tierMs / 1000}·u times (the frames are the same bytes), so at u = 1 the bytes fall to 1/${o.tierMs / 1000}; a publisher that falls short of 1 Hz per aircraft (see updates/aircraft/s) leaves less to conflate.`,
    '',
    '| world:clients | bytes/client ratio (conflated / all-in) | target ≤ 0.25 | CPU ratio (conflated / all-in) |',
    '|---|---:|---|---:|',
  ];
  for (const shape of o.shapes) {
    const all = rows.find((r) => r.world === shape.world && r.mode === 'all-in');
    const con = rows.find((r) => r.world === shape.world && r.mode !== 'all-in');
    if (!all || !con) continue;
    const ratio = con.bytesPerClientPerSec / all.bytesPerClientPerSec;
    lines.push(
      `| ${shape.world}:${shape.clients} | ${f2(ratio)} | ${ratio <= 0.25 ? 'met' : 'NOT met'} | ${f2(con.serverCpuPct / all.serverCpuPct)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The `--conflation` entry point (run.ts). */
export async function conflationBench(argv: string[]): Promise<void> {
  const o = parseConflationArgs(argv);
  installExitHooks();
  pin(process.pid, SIDE_CPUS);
  const progress = elapsedProgress();
  const date = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  const redis = await startRedis(SIDE_CPUS);
  const workers = await WorkerPool.start(1, SIDE_CPUS);
  const publisher = await Publisher.start();
  const rows: ConflationRow[] = [];
  try {
    for (const shape of o.shapes) {
      for (const conflateMs of [0, o.tierMs]) {
        progress(
          `conflation: ${shape.world} aircraft, ${shape.clients} clients, ${conflateMs ? `conflate=${conflateMs}` : 'all-in'}`,
        );
        const row = await runMode(redis, publisher, workers, shape, conflateMs, o, progress);
        progress(
          `  ${f0(row.bytesPerClientPerSec)} B/client/s, ${f0(row.deliveriesPerSec)} deliveries/s, cpu ${f1(row.serverCpuPct)}%, p99 age ${f0(row.p99AgeMs)} ms, closed ${row.closedByServer} ${JSON.stringify(row.closeCodes)}`,
        );
        rows.push(row);
      }
    }
  } finally {
    publisher.stop();
    workers.stop();
    await redis.stop();
  }
  const md = report(rows, o, date);
  const base = `${resultsDir}/${date}-conflation`;
  writeFileSync(`${base}.json`, `${JSON.stringify({ date, options: o, rows }, null, 2)}\n`);
  writeFileSync(`${base}.md`, md);
  console.log(md);
  progress(`wrote ${base}.json, ${base}.md`);
  killAll();
}
