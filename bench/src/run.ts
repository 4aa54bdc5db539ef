/**
 * `pnpm bench [--quick] [--rounds N] [--scenarios 1,3,4] [--targets hydra,sio,uws]
 *   [--idle-steps 1000,5000,15000] [--idle-settle-ms MS]
 *   [--idle-max-settle-ms MS] [--idle-together | --idle-one-by-one]`
 * `pnpm bench --scale [--gateways N] [--per-gateway N] [--ping-ms MS] [--before-dist DIR]`: idle
 * connections at scale, N gateways side by side with N bare uWS processes (scale.ts).
 * `pnpm bench --ingest [--ingest-seconds N] [--ingest-rounds N] [--in-flight N]`: events/s into one
 * Redis through the ingest server, the old per-event publish path vs the chunked one (ingest.ts).
 * `pnpm bench --ingest-stream [--ingest-seconds N] [--ingest-rounds N]`: the same events by batch
 * POST vs `POST /v1/events/stream` (ingest-stream.ts).
 * `pnpm bench --ingest-instructions [--instruction-events N]`: Redis CPU instructions per event of the
 * same two paths, counted by valgrind, so runs on different days compare (ingest-instructions.ts).
 * `pnpm bench --regions [--aircraft N] [--hz H] [--clients N] [--window-ms MS]`: region filters,
 * bbox clients against unfiltered ones on one gateway (regions.ts).
 * `pnpm bench --topology [--topology-seconds N] [--topology-rounds N] [--in-flight N] [--publishers 1,2]
 * [--clients N] [--delivery-rate N]`: ingest and delivery on one Redis against a 3-master Redis
 * Cluster in the same run, Redis CPU per event per shard (topology.ts).
 * `pnpm bench --keep-up [--keep-up-seconds N] [--keep-up-rounds N] [--in-flight N] [--clients N]
 * [--trickle-rate N] [--phases clients,no-clients] [--gateway-main PATH]`: a gateway under an ingest
 * flood of scopes its clients do not hold: readiness, memory, CPU, event-loop delay (keep-up.ts).
 *
 * `--scenarios 3 --idle-steps 1000,5000,15000` runs only the idle-memory
 * scenario at those connection counts; `--idle-settle-ms` is how long each
 * server sits idle before RSS is read, the baseline (no client) included
 * (at least; default 25 s, then until RSS is calm, at most `--idle-max-settle-ms`,
 * default 45 s, quick 30 s); `--idle-together` measures the servers side by side (the
 * quick mode's default), `--idle-one-by-one` one at a time (the full mode's).
 *
 * Runs the Hydra gateway and its peers side by side on this machine (server
 * on core 0; clients, publisher and Redis on core 1), interleaving targets
 * round by round (our gateway twice, to know the noise), and writes
 * bench/results/<date>.{json,md} plus SVG charts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { compression } from './compression-scenario.js';
import { conflationBench } from './conflation-bench.js';
import { runIngest } from './ingest.js';
import { runIngestInstructions } from './ingest-instructions.js';
import { runIngestStream } from './ingest-stream.js';
import { runKeepUp } from './keep-up.js';
import { peersDir, repoDir, resultsDir } from './paths.js';
import {
  elapsedProgress,
  hasTaskset,
  installExitHooks,
  irqTimeAccounting,
  killAll,
  machineInfo,
  pin,
} from './procs.js';
import { startRedis } from './redis.js';
import { startRedisCluster } from './redis-cluster.js';
import { runRegions } from './regions.js';
import { type RunResults, writeReport } from './report.js';
import { runScale } from './scale.js';
import {
  type Ctx,
  connectStorm,
  fanout,
  type IdleTarget,
  idleMemory,
  Publisher,
  SIDE_CPUS,
  scaleOut,
  scopeFiltering,
  slowConsumers,
} from './scenarios.js';
import { buildCentrifuge, type TargetKind } from './targets.js';
import { runTopology } from './topology.js';
import { MAX_SOCKETS_PER_WORKER, WorkerPool } from './workers.js';

interface Options {
  quick: boolean;
  rounds: number;
  scenarios: Set<number>;
  targets: TargetKind[] | null;
  burstMs: number;
  loads: number[] | null;
  workers: number;
  idleSteps: number[] | null;
  idleSettleMs: number | null;
  idleTogether: boolean | null;
  idleMaxSettleMs: number | null;
  /** Scenario 4 size (`--storm clients,entities`), instead of the mode's default. */
  storm: { clients: number; entities: number } | null;
}

/**
 * Scenario 3's wait before every RSS reading, the baseline included: longer
 * than V8's idle heap shrink, which on this box lands 8–15 s after start-up
 * or after a burst of connects (reading earlier makes the figure depend on
 * whether it happened: bare uWS then showed negative KB/conn).
 */
const IDLE_SETTLE_MS = 25_000;
/** How long a reading may wait for a calm window after that (full mode; quick: 30 s in all, to stay under 3 minutes). */
const IDLE_MAX_SETTLE_MS = { full: 45_000, quick: 30_000 };
/** Burst interval of the batched-ingest fan-out (scenario 1 at 75k/s, full mode). */
const BATCHED_BURST_MS = 100;

function idleMethodNote(
  steps: number[],
  settleMs: number,
  maxSettleMs: number,
  together: boolean,
  pingMs: number,
): string {
  const s = settleMs / 1000;
  const w = Math.min(pingMs, settleMs / 2) / 1000;
  return (
    `Idle memory (scenario 3): each server is started with no client and its baseline RSS is read after the same wait as every step; ` +
    `at each step (${steps.join(', ')} connections, Hydra clients authenticated with an API key, pings every ${pingMs / 1000} s) ` +
    `the clients connect and sit idle, and RSS is read again. The wait: at least ${s} s (V8's idle heap shrink, 8–15 MB at start-up, ` +
    'usually lands 8–15 s after start-up or a burst of connects), then until RSS is calm over ' +
    `${w} s (span ≤ max(1 MiB, 1.5%)), at most ` +
    `${maxSettleMs / 1000} s; the reading is the median of that window's samples (every 0.5 s). A reading still moving at the cap is ` +
    'marked * (its RSS climbs between GCs while idle, so the figure depends on where in the GC cycle it falls). ' +
    "The shrink is V8's choice: it waits for a full GC to arm it and for a low allocation rate, so it sometimes lands after a " +
    'reading, even past the wait; then that reading holds up to ~10 MB of garbage (at 1k connections, ±10 KB/conn; a negative ' +
    'figure, marked †, is such a case). Compare servers on the slope at the largest step, over several rounds (the full mode). ' +
    '"KB/conn at N" = (RSS at N − baseline) / N: it includes the fixed cost of having any client (buffers, code compiled on first use), ' +
    'which dominates at small N. "Slope a→b" = RSS growth between two steps / the connections added: the cost of one more idle ' +
    "connection, the figure to hold against the issue's target (≤ 3 KB, ≤ 1/5 of Socket.IO's). " +
    (together
      ? 'Servers measured side by side (each with its own client processes; connects one server after another, then one shared wait), the same method for every server.'
      : 'One server at a time, the same method for every server.')
  );
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    rounds: 3,
    scenarios: new Set([1, 2, 3, 4, 5, 6, 7]),
    targets: null,
    burstMs: 20,
    loads: null,
    workers: 2,
    idleSteps: null,
    idleSettleMs: null,
    idleTogether: null,
    idleMaxSettleMs: null,
    storm: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const eq = a.indexOf('=');
      return eq >= 0 ? a.slice(eq + 1) : (argv[++i] ?? '');
    };
    if (a === '--quick') o.quick = true;
    else if (a.startsWith('--rounds')) o.rounds = Math.max(1, Math.min(10, Number(value()) || 3));
    else if (a.startsWith('--scenarios')) o.scenarios = new Set(value().split(',').map(Number));
    else if (a.startsWith('--targets')) o.targets = value().split(',') as TargetKind[];
    else if (a.startsWith('--loads'))
      o.loads = value()
        .split(',')
        .map(Number)
        .filter((x) => x > 0);
    else if (a.startsWith('--workers')) o.workers = Math.max(1, Math.min(8, Number(value()) || 2));
    else if (a.startsWith('--burst-ms')) o.burstMs = Math.max(1, Math.min(1000, Number(value()) || 20));
    else if (a.startsWith('--idle-steps')) o.idleSteps = value().split(',').map(Number);
    else if (a.startsWith('--idle-settle-ms')) o.idleSettleMs = Number(value());
    else if (a.startsWith('--idle-max-settle-ms')) o.idleMaxSettleMs = Number(value());
    else if (a === '--idle-together') o.idleTogether = true;
    else if (a === '--idle-one-by-one') o.idleTogether = false;
    else if (a.startsWith('--storm')) {
      const [clients, entities] = value().split(',').map(Number);
      if (!(clients && clients > 0 && entities && entities > 0))
        throw new Error('--storm: clients,entities, e.g. 10000,5000');
      o.storm = { clients, entities };
    } else if (a !== '--') throw new Error(`unknown argument ${a}`);
  }
  if (o.idleSteps && !o.idleSteps.every((n, i, all) => Number.isInteger(n) && n > (all[i - 1] ?? 0))) {
    throw new Error('--idle-steps: increasing connection counts, e.g. 1000,5000,15000');
  }
  if (o.idleSettleMs !== null && !(o.idleSettleMs >= 0)) throw new Error('--idle-settle-ms: a duration in ms');
  if (o.idleMaxSettleMs !== null && !(o.idleMaxSettleMs >= 0))
    throw new Error('--idle-max-settle-ms: a duration in ms');
  if (o.quick) {
    o.rounds = 1;
    if (!argv.some((a) => a.startsWith('--scenarios'))) o.scenarios = new Set([1, 3, 4]);
  }
  return o;
}

/**
 * `--scale`: idle connections at scale, N gateways side by side with bare uWS (scale.ts); with
 * `run` = runRegions, `--regions` (regions.ts: Hydra only, no peers needed).
 */
async function scale(argv: string[], run: typeof runScale = runScale): Promise<void> {
  installExitHooks();
  pin(process.pid, SIDE_CPUS);
  const progress = elapsedProgress();
  if (!existsSync(`${repoDir}/apps/gateway/dist/main.js`)) throw new Error('gateway not built: run `pnpm build`');
  if (run === runScale) ensurePeers();
  const redis = await startRedis(SIDE_CPUS);
  try {
    await run(argv, redis, progress);
  } finally {
    await redis.stop();
    killAll();
  }
}

/** `--ingest`: events/s into one Redis through the ingest server, old per-event path vs chunked (ingest.ts). */
async function ingest(argv: string[], run = runIngest): Promise<void> {
  installExitHooks();
  pin(process.pid, SIDE_CPUS);
  const progress = elapsedProgress();
  const redis = await startRedis(SIDE_CPUS);
  try {
    await run(argv, redis, progress);
  } finally {
    await redis.stop();
    killAll();
  }
}

/** `--ingest-instructions`: Redis instructions per event, old path vs chunked, under valgrind (ingest-instructions.ts). */
async function ingestInstructions(argv: string[]): Promise<void> {
  installExitHooks();
  try {
    await runIngestInstructions(argv, elapsedProgress());
  } finally {
    killAll();
  }
}

/** `--topology`: one Redis and a 3-master cluster side by side, ingest and delivery on each (topology.ts). */
async function topology(argv: string[]): Promise<void> {
  installExitHooks();
  pin(process.pid, SIDE_CPUS);
  const progress = elapsedProgress();
  for (const main of ['apps/gateway/dist/main.js', 'apps/publisher/dist/main.js']) {
    if (!existsSync(`${repoDir}/${main}`)) throw new Error(`${main} not built: run \`pnpm build\``);
  }
  const redis = await startRedis(SIDE_CPUS);
  const cluster = await startRedisCluster(SIDE_CPUS).catch(async (err: unknown) => {
    await redis.stop();
    throw err;
  });
  const workers = await WorkerPool.start(1, SIDE_CPUS);
  const publisher = await Publisher.start();
  try {
    await runTopology(argv, { redis, cluster, workers, publisher }, progress);
  } finally {
    publisher.stop();
    workers.stop();
    await cluster.stop();
    await redis.stop();
    killAll();
  }
}

/** `--keep-up`: one gateway under an ingest flood of scopes its clients do not hold (keep-up.ts). */
async function keepUp(argv: string[]): Promise<void> {
  installExitHooks();
  pin(process.pid, SIDE_CPUS);
  const progress = elapsedProgress();
  if (!existsSync(`${repoDir}/apps/gateway/dist/main.js`)) throw new Error('gateway not built: run `pnpm build`');
  const redis = await startRedis(SIDE_CPUS);
  const workers = await WorkerPool.start(1, SIDE_CPUS);
  const trickle = await Publisher.start();
  try {
    await runKeepUp(argv, { redis, workers, trickle }, progress);
  } finally {
    trickle.stop();
    workers.stop();
    await redis.stop();
    killAll();
  }
}

function ensurePeers(): void {
  if (existsSync(`${peersDir}/node_modules/.package-lock.json`)) return;
  console.log('bench: installing peers (npm ci --prefix bench/peers) …');
  const r = spawnSync('npm', ['ci', '--prefix', peersDir, '--no-audit', '--no-fund'], {
    stdio: 'inherit',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error('npm ci --prefix bench/peers failed');
}

async function main(): Promise<void> {
  if (process.argv.includes('--scale')) return scale(process.argv.slice(2));
  if (process.argv.includes('--conflation')) return conflationBench(process.argv.slice(2));
  if (process.argv.includes('--ingest')) return ingest(process.argv.slice(2));
  if (process.argv.includes('--ingest-stream')) return ingest(process.argv.slice(2), runIngestStream);
  if (process.argv.includes('--ingest-instructions')) return ingestInstructions(process.argv.slice(2));
  if (process.argv.includes('--regions')) return scale(process.argv.slice(2), runRegions);
  if (process.argv.includes('--topology')) return topology(process.argv.slice(2));
  if (process.argv.includes('--keep-up')) return keepUp(process.argv.slice(2));
  const opts = parseArgs(process.argv.slice(2));
  installExitHooks();
  pin(process.pid, SIDE_CPUS);
  const started = performance.now();
  const t0 = Date.now();
  const progress = elapsedProgress();
  if (!existsSync(`${repoDir}/apps/gateway/dist/main.js`)) throw new Error('gateway not built: run `pnpm build`');
  ensurePeers();

  const skipped: string[] = [];
  const notes: string[] = [
    'Latency: publish-time CLOCK_MONOTONIC stamp (µs) in the payload, read by the client on receipt; loss: per-scope counter gaps plus deliveries that never arrived (expected − received).',
    'Hydra clients connect with `snapshot=false` in scenarios 1–3, 5, 6 (peers have no snapshots); scenario 4 is Hydra-only with snapshots.',
    `Server CPU is read from /proc/<pid>/stat of the process holding the clients (all threads, user + system). ${
      irqTimeAccounting() === false
        ? "This kernel has no CONFIG_IRQ_TIME_ACCOUNTING: softirq work (on loopback, the receive side of what a process sends) is charged to whichever process runs it, mostly the sender, so system time includes the clients' TCP receive path."
        : irqTimeAccounting() === true
          ? 'This kernel accounts softirq time separately: the loopback receive path is not charged to the server.'
          : 'Whether softirq time is charged to the server is unknown (no /proc/config.gz).'
    }`,
    `Load shape: the publisher sends the events due every ${opts.burstMs} ms as one burst (one Redis pipeline; one batch_events request for soketi; one POST for Centrifuge). uWS-based servers pack the messages of one event-loop iteration into one write per subscriber, so their CPU per delivery falls as bursts grow; see "msgs per client read".`,
  ];
  const all: TargetKind[] = opts.quick
    ? ['hydra', 'hydra-coalesced', 'sio', 'uws']
    : ['hydra', 'hydra-coalesced', 'sio', 'uws', 'ws', 'soketi', 'centrifuge'];
  let targets = opts.targets ?? all;
  if (targets.includes('centrifuge')) {
    progress('building the Centrifuge (Go) peer …');
    const why = buildCentrifuge();
    if (why) {
      skipped.push(`Centrifuge (Go): ${why}.`);
      progress(`  Centrifuge skipped: ${why}`);
      targets = targets.filter((t) => t !== 'centrifuge');
    }
  }
  if (opts.quick)
    skipped.push(
      'Quick mode: ws + ioredis, soketi and Centrifuge, scenarios 2, 5, 6, the second Hydra instance and idle memory at 15k connections are run only in the full mode; the quick mode measures idle memory at 1k and 5k with every server side by side (the same least wait as the full mode, capped at 30 s instead of 45 s).',
    );

  const redis = await startRedis(SIDE_CPUS);
  const workers = await WorkerPool.start(opts.workers, SIDE_CPUS);
  const publisher = await Publisher.start();
  const pingMs = 5000;
  const ctx: Ctx = { redis, workers, publisher, pingMs, burstMs: opts.burstMs, progress };
  const res: RunResults = {
    date: new Date(t0).toISOString().replace(/[:]/g, '-').replace(/\..*/, ''),
    mode: opts.quick ? 'quick' : 'full',
    machine: {
      cores: os.cpus().length,
      ...machineInfo(),
      node: process.version,
      loadavgStart: os.loadavg(),
      loadavgEnd: [],
      taskset: hasTaskset(),
      fdLimit: (() => {
        try {
          return execFileSync('sh', ['-c', 'ulimit -n']).toString().trim();
        } catch {
          return '?';
        }
      })(),
    },
    rounds: opts.rounds,
    burstMs: opts.burstMs,
    durationS: 0,
    fanout: [],
    fanoutBatched: [],
    batchedBurstMs: BATCHED_BURST_MS,
    scopes: [],
    idle: [],
    storm: [],
    slow: [],
    scale: [],
    compression: [],
    skipped,
    notes,
  };
  progress(
    `machine: ${res.machine.cores} cores, load ${res.machine.loadavgStart.map((x) => x.toFixed(2)).join(' ')}; mode ${res.mode}, ${opts.rounds} round(s); targets ${targets.join(', ')}`,
  );

  // Interleaved order per round: our gateway first and again mid-way (noise), peers between.
  const order = (round: number): Array<[TargetKind, string]> => {
    const peers = targets.filter((t) => t !== 'hydra');
    const withHydra = targets.includes('hydra');
    const seq: Array<[TargetKind, string]> = [];
    if (withHydra) seq.push(['hydra', 'hydra']);
    const rotated = peers.map((_, i) => peers[(i + round) % peers.length] as TargetKind);
    rotated.forEach((p, i) => {
      seq.push([p, p]);
      if (withHydra && !opts.quick && i === Math.floor((rotated.length - 1) / 2)) seq.push(['hydra', 'hydra#2']);
    });
    return seq;
  };
  const guarded = async <T>(what: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      progress(`  ${what} failed: ${(err as Error).message}`);
      notes.push(`${what} failed: ${(err as Error).message}`);
      await workers.closeClients().catch(() => undefined);
      return null;
    }
  };

  try {
    if (opts.scenarios.has(1)) {
      const loads =
        opts.loads ?? (opts.quick ? [25_000, 75_000, 150_000] : [25_000, 50_000, 75_000, 100_000, 125_000, 150_000]);
      for (let round = 1; round <= opts.rounds; round++) {
        progress(`scenario 1 (fan-out), round ${round}/${opts.rounds}`);
        for (const [kind, instance] of order(round)) {
          const pts = await guarded(`fan-out ${instance}`, () =>
            fanout(ctx, kind, instance, round, { clients: 1000, loads, durationMs: opts.quick ? 3000 : 4000 }),
          );
          if (pts) res.fanout.push(...pts);
        }
      }
      // The full mode also measures 75k/s with batched ingest (larger, rarer bursts).
      if (!opts.quick && !opts.loads) {
        const batchedCtx: Ctx = { ...ctx, burstMs: BATCHED_BURST_MS };
        for (let round = 1; round <= opts.rounds; round++) {
          progress(`scenario 1, batched ingest (${BATCHED_BURST_MS} ms bursts), round ${round}/${opts.rounds}`);
          for (const [kind, instance] of order(round)) {
            const pts = await guarded(`fan-out ${instance} (batched)`, () =>
              fanout(batchedCtx, kind, instance, round, { clients: 1000, loads: [75_000], durationMs: 4000 }),
            );
            if (pts) res.fanoutBatched?.push(...pts);
          }
        }
      }
    }
    if (opts.scenarios.has(2)) {
      for (let round = 1; round <= opts.rounds; round++) {
        progress(`scenario 2 (scope filtering), round ${round}/${opts.rounds}`);
        for (const [kind, instance] of order(round)) {
          const p = await guarded(`scopes ${instance}`, () =>
            scopeFiltering(ctx, kind, instance, round, { clients: 1000, offered: 75_000, durationMs: 4000 }),
          );
          if (p) res.scopes.push(p);
        }
      }
    }
    if (opts.scenarios.has(3)) {
      // Full: one server at a time, 1k/5k/15k. Quick: 1k/5k, every server side by
      // side (each with its own client pool), so the settles are shared and as long
      // as in the full mode.
      const steps = opts.idleSteps ?? (opts.quick ? [1000, 5000] : [1000, 5000, 15_000]);
      const settleMs = opts.idleSettleMs ?? IDLE_SETTLE_MS;
      const maxSettleMs = Math.max(settleMs, opts.idleMaxSettleMs ?? IDLE_MAX_SETTLE_MS[opts.quick ? 'quick' : 'full']);
      const together = opts.idleTogether ?? opts.quick;
      const rounds = opts.quick ? 1 : Math.min(opts.rounds, 2);
      notes.push(idleMethodNote(steps, settleMs, maxSettleMs, together, pingMs));
      for (let round = 1; round <= rounds; round++) {
        progress(
          `scenario 3 (idle memory ${steps.join('/')}, settle ${settleMs / 1000} s${together ? ', servers side by side' : ''}), round ${round}/${rounds}`,
        );
        const list = order(round).filter(([k]) => k !== 'hydra-coalesced');
        if (!together) {
          for (const [kind, instance] of list) {
            const m = await guarded(`idle ${instance}`, () =>
              idleMemory(ctx, [{ kind, instance, workers }], round, { steps, settleMs, maxSettleMs }),
            );
            if (m) res.idle.push(...m);
          }
          continue;
        }
        const perPool = Math.max(1, Math.ceil((steps[steps.length - 1] ?? 0) / MAX_SOCKETS_PER_WORKER));
        const pools: WorkerPool[] = [];
        try {
          const its: IdleTarget[] = [];
          for (const [kind, instance] of list) {
            const pool: WorkerPool =
              its.length === 0 && workers.size >= perPool ? workers : await WorkerPool.start(perPool, SIDE_CPUS);
            if (pool !== workers) pools.push(pool);
            its.push({ kind, instance, workers: pool });
          }
          const m = await guarded('idle (side by side)', () =>
            idleMemory(ctx, its, round, { steps, settleMs, maxSettleMs }),
          );
          if (m) res.idle.push(...m);
        } finally {
          for (const p of pools) p.stop();
        }
      }
    }
    if (opts.scenarios.has(4) && targets.includes('hydra')) {
      const storm = opts.quick
        ? { clients: 2000, entities: 1000, updatesPerSec: 100, timeoutMs: 60_000 }
        : // 10 updates/s: at 10,000 clients that is 100k deliveries/s of live fan-out beside the snapshots.
          { clients: 10_000, entities: 5000, updatesPerSec: 10, timeoutMs: 180_000 };
      if (opts.storm) Object.assign(storm, opts.storm);
      const rounds = opts.quick ? 1 : Math.min(opts.rounds, 2);
      for (let round = 1; round <= rounds; round++) {
        progress(`scenario 4 (connect storm: ${storm.clients} clients, ${storm.entities} aircraft), round ${round}`);
        const s = await guarded('connect storm', () => connectStorm(ctx, round, storm));
        if (s) res.storm.push(s);
      }
    }
    if (opts.scenarios.has(5)) {
      progress('scenario 5 (slow consumers: 1% stop reading)');
      for (const [kind, instance] of order(1).filter(([k, i]) => i !== 'hydra#2' && k !== 'hydra-coalesced')) {
        const s = await guarded(`slow ${instance}`, () =>
          slowConsumers(ctx, kind, instance, 1, {
            clients: 1000,
            eventsPerSec: 20,
            payloadBytes: 2000,
            durationMs: 15_000,
          }),
        );
        if (s) res.slow.push(s);
      }
    }
    if (opts.scenarios.has(6) && targets.includes('hydra')) {
      progress('scenario 6 (scale-out: 1, 2, 3 gateways on one Redis)');
      for (const n of [1, 2, 3]) {
        const s = await guarded(`scale-out ${n}`, () =>
          scaleOut(ctx, n, 1, { clients: 999, offered: 100_000, durationMs: 4000 }),
        );
        if (s) res.scale.push(s);
      }
    }
    if (opts.scenarios.has(7) && targets.includes('hydra')) {
      for (let round = 1; round <= opts.rounds; round++) {
        progress(`scenario 7 (compression: off and shared; 100 and 1,000 clients), round ${round}/${opts.rounds}`);
        const points = await guarded('compression', () =>
          compression(ctx, round, {
            clientCounts: [100, 1000],
            deliveriesPerSec: 20_000,
            durationMs: 4000,
            entities: 10_000,
          }),
        );
        if (points) res.compression?.push(...points);
      }
    }
  } finally {
    publisher.stop();
    workers.stop();
    await redis.stop();
  }
  res.machine.loadavgEnd = os.loadavg();
  res.durationS = (performance.now() - started) / 1000;
  const out = writeReport(res, resultsDir);
  progress(`wrote ${out.json}, ${out.md}, ${out.svgs.join(', ')}`);
}

main()
  .then(() => {
    killAll();
    process.exit(0);
  })
  .catch((err: unknown) => {
    console.error('bench failed:', err);
    killAll();
    process.exit(1);
  });
