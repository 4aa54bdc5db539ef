/**
 * `pnpm bench --regions [--aircraft N] [--hz H] [--clients N] [--window-ms MS]
 *   [--rounds R] [--phases unfiltered,bbox,map-on] [--before-dist apps/gateway/dist-before]`
 *
 * Region filters (issue 17 part 3): one gateway, a publisher of N moving
 * aircraft at H updates per second each (regions-world.ts), and the same
 * number of clients in each phase, all `snapshot=false`:
 *
 * - unfiltered: the whole scope (the gateway keeps no tile map);
 * - bbox: each client asks for one of 8 boxes of 12° × 10° (edges off the
 *   2° grid, so the tile overhead is in), each covering about 5% of the
 *   aircraft's area;
 * - map-on: unfiltered again, plus one bbox client that keeps the tile map
 *   on: what the per-event tile publishing costs the others.
 *
 * The phases run in that order, R rounds of them (interleaved, so a change
 * in the machine's load hits every phase alike); with `--before-dist`,
 * another gateway build (e.g. `git worktree` of the base commit, built, its
 * `apps/gateway/dist` copied) runs the same rounds, the two builds
 * alternating first and second per round. Both gateways run all along,
 * pinned to the same core; the one without clients only follows the events.
 *
 * Per phase, over the same window length: bytes per client per second
 * (WebSocket payloads counted by the clients, left_area removals included),
 * gateway CPU per event published (/proc user and system), p99 event age at
 * the client (publish-time CLOCK_MONOTONIC stamp in the payload; left_area
 * removals carry none), the events the publisher sent per second and the
 * machine's load average. The summary (regions-report.ts) takes the ratios
 * within each round, then their medians over the rounds.
 *
 * Every loop is bounded: connects give up after CONNECT_TIMEOUT_MS, the
 * publisher stops with the run.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { GeoBox } from '@hydra/protocol';
import { repoDir, resultsDir } from './paths.js';
import { cpuTimes, sleep } from './procs.js';
import type { BenchRedis } from './redis.js';
import {
  fmtRow,
  REGION_PHASES,
  type RegionPhase,
  type RegionsRow,
  regionsRowsTable,
  regionsSummaryTable,
  summarise,
} from './regions-report.js';
import { AIRCRAFT_SCOPE, AircraftPublisher, AREA, BOXES, coveredShare } from './regions-world.js';
import { hydraKeys, SCOPE_NAMES, SERVER_CPUS, SIDE_CPUS } from './scenarios.js';
import { type RunningTarget, startTarget } from './targets.js';
import { WorkerPool } from './workers.js';

export { coveredShare } from './regions-world.js';

const PER_IP = 500;
const SETTLE_MS = 3000;
const CONNECT_TIMEOUT_MS = 60_000;

export interface RegionsOptions {
  aircraft: number;
  hz: number;
  clients: number;
  windowMs: number;
  rounds: number;
  phases: RegionPhase[];
  /** Another gateway build's dist directory (relative to the repository, or absolute), run beside this one. */
  beforeDist: string | null;
}

export function parseRegionsArgs(argv: string[]): RegionsOptions {
  const o: RegionsOptions = {
    aircraft: 10_000,
    hz: 1,
    clients: 1000,
    windowMs: 10_000,
    rounds: 3,
    phases: [...REGION_PHASES],
    beforeDist: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const text = () => {
      const eq = a.indexOf('=');
      return eq >= 0 ? a.slice(eq + 1) : (argv[++i] ?? '');
    };
    const value = () => Number(text());
    if (a === '--regions' || a === '--') continue;
    if (a.startsWith('--aircraft')) o.aircraft = Math.max(1, Math.min(100_000, value() || 10_000));
    else if (a.startsWith('--hz')) o.hz = Math.max(0.01, Math.min(10, value() || 1));
    else if (a.startsWith('--clients')) o.clients = Math.max(1, Math.min(10_000, value() || 1000));
    else if (a.startsWith('--window-ms')) o.windowMs = Math.max(2000, Math.min(120_000, value() || 10_000));
    else if (a.startsWith('--rounds')) o.rounds = Math.max(1, Math.min(10, Math.floor(value()) || 3));
    else if (a.startsWith('--before-dist')) o.beforeDist = text();
    else if (a.startsWith('--phases')) {
      const phases = text().split(',');
      for (const p of phases) {
        if (!(REGION_PHASES as readonly string[]).includes(p)) {
          throw new Error(`--phases: ${p} is not one of ${REGION_PHASES.join(', ')}`);
        }
      }
      o.phases = REGION_PHASES.filter((p) => phases.includes(p));
    } else throw new Error(`--regions: unknown argument ${a}`);
  }
  return o;
}

const streamPath = (key: string, box: GeoBox | null) =>
  `/v1/stream?apiKey=${encodeURIComponent(key)}&snapshot=false` +
  (box === null ? '' : `&bbox=${box.minLon},${box.minLat},${box.maxLon},${box.maxLat}`);

/** A counter from the gateway's /metrics, summed over its label sets; NaN when the scrape fails. */
async function metricSum(adminPort: number, name: string): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
    let sum = 0;
    for (const line of (await res.text()).split('\n')) {
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  } catch {
    return Number.NaN;
  }
}

interface PhaseRun {
  round: number;
  build: string;
  phase: RegionPhase;
  gw: RunningTarget;
  pool: WorkerPool;
  publisher: AircraftPublisher;
  key: string;
  o: RegionsOptions;
  progress: (line: string) => void;
}

async function phase(run: PhaseRun): Promise<RegionsRow> {
  const { gw, pool, publisher, key, o, progress } = run;
  if (run.phase === 'map-on') {
    await pool.connect(1, {
      protocol: 'hydra',
      port: gw.port,
      perIp: PER_IP,
      rampPerSec: 100,
      maxInflight: 1,
      paths: [streamPath(key, BOXES[0] as GeoBox)],
      subs: [[AIRCRAFT_SCOPE]],
      scopeNames: [...SCOPE_NAMES],
      timeoutMs: CONNECT_TIMEOUT_MS,
    });
  }
  const paths = run.phase === 'bbox' ? BOXES.map((b) => streamPath(key, b)) : [streamPath(key, null)];
  const r = await pool.connect(o.clients, {
    protocol: 'hydra',
    port: gw.port,
    perIp: PER_IP,
    rampPerSec: Math.ceil(2000 / pool.size),
    maxInflight: Math.ceil(200 / pool.size),
    paths,
    subs: [[AIRCRAFT_SCOPE]],
    scopeNames: [...SCOPE_NAMES],
    timeoutMs: CONNECT_TIMEOUT_MS,
  });
  progress(
    `  round ${run.round} ${run.build} ${run.phase}: ${r.open}/${o.clients} open in ${(r.ms / 1000).toFixed(1)} s`,
  );
  await sleep(SETTLE_MS);
  await pool.all({ cmd: 'reset' }, 30_000);
  const gatewayBytes0 = await metricSum(gw.adminPort, 'hydra_bytes_delivered_total');
  const resyncs0 = await metricSum(gw.adminPort, 'hydra_resyncs_total');
  const cpu0 = cpuTimes(gw.pid);
  const sent0 = publisher.sent;
  const t0 = performance.now();
  await sleep(o.windowMs);
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = cpuTimes(gw.pid);
  const sent = publisher.sent - sent0;
  const loadAvg = loadavg()[0] ?? Number.NaN;
  const gatewayBytes = (await metricSum(gw.adminPort, 'hydra_bytes_delivered_total')) - gatewayBytes0;
  const resyncs = (await metricSum(gw.adminPort, 'hydra_resyncs_total')) - resyncs0;
  const st = await pool.stats(30_000);
  // Counted by the clients since the reset (their own wall time): payload events and removals alike.
  const clientWall = st.wallMs / 1000;
  const bytes = st.messageBytes + st.otherBytes;
  const messages = st.messages + st.otherMessages;
  await pool.all({ cmd: 'close' }, 60_000);
  await sleep(1000);
  const row: RegionsRow = {
    round: run.round,
    build: run.build,
    phase: run.phase,
    clients: st.open,
    eventsPerSec: sent / wall,
    bytesPerClientPerSec: bytes / Math.max(1, st.open) / clientWall,
    messagesPerClientPerSec: messages / Math.max(1, st.open) / clientWall,
    readsPerClientPerSec: st.reads / Math.max(1, st.open) / clientWall,
    gatewayCpuPct: (100 * (cpu1.user + cpu1.sys - cpu0.user - cpu0.sys)) / wall,
    userUsPerEvent: (1e6 * (cpu1.user - cpu0.user)) / Math.max(1, sent),
    sysUsPerEvent: (1e6 * (cpu1.sys - cpu0.sys)) / Math.max(1, sent),
    p99AgeMs: st.latency.percentile(0.99) / 1000,
    p50AgeMs: st.latency.percentile(0.5) / 1000,
    drops: st.closedByServer,
    gatewayBytesPerClientPerSec: gatewayBytes / Math.max(1, st.open) / wall,
    otherMessagesPerClientPerSec: st.otherMessages / Math.max(1, st.open) / clientWall,
    resyncs,
    loadAvg,
  };
  progress(`  ${fmtRow(row)}`);
  return row;
}

export async function runRegions(argv: string[], redis: BenchRedis, progress: (line: string) => void): Promise<void> {
  const o = parseRegionsArgs(argv);
  const shares = BOXES.map(coveredShare);
  const share = shares.reduce((a, b) => a + b, 0) / shares.length;
  progress(
    `regions: ${o.aircraft} aircraft at ${o.hz} Hz, ${o.clients} clients per phase, window ${o.windowMs / 1000} s, ` +
      `${o.rounds} rounds of ${o.phases.join(', ')}${o.beforeDist ? `, this build and ${o.beforeDist}` : ''}; ` +
      `each box covers 5.0% of the area, its tiles ${(100 * share).toFixed(1)}%`,
  );
  const builds: { name: string; main?: string }[] = [{ name: 'this' }];
  if (o.beforeDist) {
    builds.push({
      name: 'before',
      main: `${o.beforeDist.startsWith('/') ? '' : `${repoDir}/`}${o.beforeDist}/main.js`,
    });
  }
  const gateways = new Map<string, RunningTarget>();
  let pool: WorkerPool | null = null;
  const publisher = new AircraftPublisher(redis.url, o);
  const rows: RegionsRow[] = [];
  try {
    for (const build of builds) {
      gateways.set(
        build.name,
        await startTarget('hydra', {
          redisUrl: redis.url,
          redisPort: redis.port,
          serverCpus: SERVER_CPUS,
          sideCpus: SIDE_CPUS,
          pingMs: 15_000,
          gatewayMain: build.main,
          gatewayEnv: { HYDRA_MAX_CONNECTIONS_PER_IP: String(PER_IP) },
        }),
      );
    }
    pool = await WorkerPool.start(Math.max(1, Math.min(4, Math.ceil(o.clients / 500))), SIDE_CPUS);
    const [key] = await hydraKeys(redis.url, [[AIRCRAFT_SCOPE]]);
    await publisher.seed();
    publisher.start();
    await sleep(2000);
    for (let round = 1; round <= o.rounds; round++) {
      // Alternate which build goes first, so neither always follows the other.
      const order = round % 2 === 1 ? builds : [...builds].reverse();
      for (const build of order) {
        const gw = gateways.get(build.name) as RunningTarget;
        for (const p of o.phases) {
          rows.push(
            await phase({ round, build: build.name, phase: p, gw, pool, publisher, key: key as string, o, progress }),
          );
        }
      }
    }
  } finally {
    await publisher.stop();
    pool?.stop();
    for (const gw of gateways.values()) await gw.stop();
  }
  const summary = regionsSummaryTable(summarise(rows));
  const table = regionsRowsTable(rows);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const note =
    `Region filters (issue 17 part 3): ${o.aircraft} aircraft at ${o.hz} Hz over ${AREA.maxLon - AREA.minLon}° × ${AREA.maxLat - AREA.minLat}°, ` +
    `${o.clients} clients per phase (snapshot=false), one gateway on core ${SERVER_CPUS}, Redis, publisher and clients on core ${SIDE_CPUS}; ` +
    `window ${o.windowMs / 1000} s per phase, ${o.rounds} interleaved rounds of ${o.phases.join(', ')}` +
    `${o.beforeDist ? ` on this build and on ${o.beforeDist} ("before"; the two alternate first per round, both running all along)` : ''}. ` +
    `bbox clients: 8 boxes of 12° × 10° (5.0% of the area each; their 2° tiles cover ` +
    `${(100 * share).toFixed(1)}% on average: the tile overhead). Bytes: WebSocket payloads received per client per second (counted by the clients, left_area removals included). ` +
    `CPU: /proc user + system of the gateway, per event published (for all the clients). Event age: publish-time monotonic stamp to client receipt. ` +
    `Ratios and differences are taken within a round, then their medians over the rounds; load avg: the machine's 1-minute load at the end of each window.\n`;
  const body = `${note}\n${summary}\n\nEvery phase:\n\n${table}\n`;
  writeFileSync(`${resultsDir}/regions-${stamp}.md`, body);
  writeFileSync(`${resultsDir}/regions-${stamp}.json`, `${JSON.stringify({ options: o, share, rows }, null, 2)}\n`);
  console.log(`\n${body}\nwritten: bench/results/regions-${stamp}.{md,json}`);
}
