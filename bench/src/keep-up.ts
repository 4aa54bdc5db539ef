/**
 * `pnpm bench --keep-up [--keep-up-seconds N] [--keep-up-rounds N] [--in-flight N] [--clients N]
 *   [--trickle-rate N] [--phases clients,no-clients] [--gateway-main PATH]` (issue 16, "the gateways keep up")
 *
 * Does a gateway stay ready, with bounded memory, while one Redis takes
 * ingest as fast as a publisher can push it into scopes the gateway's
 * clients do not hold, and what does that cost the gateway?
 *
 * One Redis (core 1, with the load generator and this process), one real
 * ingest server (ingest-publisher.ts over the shipped RedisEventBus, core 0)
 * sent `--in-flight` 1,000-event NDJSON batches at a time, each as soon as
 * the previous one is answered, every batch 500 `aircraft` and 499 `vessels`
 * updates (10,000 ids each) and one `cyber` event (a quiet scope in the
 * same reads as the flood: floodBatch), and one real gateway (apps/gateway/dist/main.js,
 * core 0, every default, in a session of its own: see spawnPinned), a fresh
 * process per phase:
 *
 * - `clients`: `--clients` lean WebSocket clients (client-worker.ts) with a
 *   key that holds only `alerts`, sent a trickle of `--trickle-rate` alerts/s
 *   (publisher.ts, through the backplane): their delivery latency (publish
 *   stamp to receipt) says whether the flood delays what they hold;
 * - `no-clients`: the same flood and trickle, no client at all (`alerts` is
 *   then a slow scope nobody holds).
 *
 * Each phase has a baseline window (the clients connected and the trickle
 * on, no flood) and then the flood. For both: the gateway's CPU (% of a
 * core), the share of the time its event loop waited for a CPU taken by
 * other processes (schedstat: a busy machine's part in any stall), its
 * event-loop delay and the trickle's p50/p99. For the flood: ingest events/s;
 * the gateway's µs per event ingested, with and without the baseline's
 * share; whether it received every event (its hydra_bus_events_received_total
 * against the seqs Redis assigned) and any gap, silent resubscribe or error
 * it counted; RSS, V8 heap and external memory at start, peak and end, and
 * whether the peak grew from the middle third of the flood to the last; /readyz every
 * 200 ms; its backlog held in Redis (the subscriber's output buffer).
 * gateway-probe.ts does the watching.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { redisKeys } from '@hydra/backplane';
import type { Scope } from '@hydra/protocol';
import {
  adminGet,
  GatewayProbe,
  type MetricsSample,
  memoryFigures,
  metricSum,
  parsePrometheus,
  type Sample,
} from './gateway-probe.js';
import { percentile, redisCounters, startPublisher } from './ingest.js';
import { post } from './ingest-load.js';
import { type KeepUpOptions, type KeepUpPhase, parseKeepUpArgs } from './keep-up-options.js';
import { type KeepUpRow, keepUpReport, type TrickleFigures, type WindowFigures } from './keep-up-report.js';
import { resultsDir } from './paths.js';
import { cpuTimes, machineInfo, schedTimes, sleep, stopChild } from './procs.js';
import type { BenchRedis } from './redis.js';
import { hydraKeys, type Publisher, SCOPE_NAMES, SERVER_CPUS, SIDE_CPUS } from './scenarios.js';
import { clientPaths, type RunningTarget, startTarget } from './targets.js';
import type { WorkerPool } from './workers.js';

const BATCH = 1_000;
const ENTITY_IDS = 10_000;
/**
 * The flooded scopes and the quiet one carried with them (one event per batch), which no client holds;
 * the clients' scope, which gets the trickle.
 */
const FLOODED: readonly Scope[] = ['aircraft', 'vessels'];
const QUIET_SCOPE: Scope = 'cyber';
const INGESTED: readonly Scope[] = [...FLOODED, QUIET_SCOPE];
const CLIENT_SCOPE: Scope = 'alerts';
const INGEST_WARMUP_MS = 2_000;
/** The baseline window before the flood: the clients connected and the trickle on (clients phase), no flood. */
const BASELINE_MS = 5_000;
const READY_EVERY_MS = 200;
const RSS_EVERY_MS = 200;
const METRICS_EVERY_MS = 1_000;
const PROBE_TIMEOUT_MS = 1_000;
/** After the window: how long the trickle's last deliveries may take to arrive. */
const DRAIN_MS = 5_000;
/** A gateway starts in about a second; a machine loaded many times over its cores needs far longer. */
const READY_TIMEOUT_MS = 60_000;
const TRICKLE_PAYLOAD_BYTES = 170;
const TRICKLE_BURST_MS = 100;
/**
 * The gateway's event-loop monitor ticks every 50 ms (EVENT_LOOP_SAMPLE_MS, packages/metrics) and records
 * the whole interval between ticks, so an idle loop reads 50 ms: the delay is what exceeds it.
 */
const GATEWAY_LOOP_SAMPLE_MS = 50;

/**
 * The flood's batch `k` on lane `lane`: 500 `aircraft` and 499 `vessels` updates, interleaved, ids cycling
 * over ENTITY_IDS per scope, then one `cyber` event with an id of its own (a log scope dedupes a repeated
 * id): a quiet scope nobody holds, carried in the same requests, hence read by the gateway in the same
 * socket reads as the flood.
 */
export function floodBatch(k: number, lane = 0): string {
  return `${floodEntities(k)}\n${quietLine(k, lane)}`;
}

/** The batch's entity updates (the same for every lane: built once per k and reused). */
function floodEntities(k: number): string {
  const lines: string[] = [];
  for (let i = 0; i < BATCH - 1; i++) {
    const n = (k * (BATCH / 2) + (i >> 1)) % ENTITY_IDS;
    const lat = (n % 170) - 85 + 0.25;
    const lon = (n % 350) - 175 + 0.5;
    lines.push(
      i % 2 === 0
        ? `{"scope":"aircraft","data":{"id":"a${n}","lat":${lat},"lon":${lon},"altBaroFt":${30_000 + (k % 100)},"callsign":"KUP${n}"}}`
        : `{"scope":"vessels","data":{"id":"v${n}","lat":${lon / 2},"lon":${lat * 2},"sogKt":${(k % 200) / 10}}}`,
    );
  }
  return lines.join('\n');
}

const quietLine = (k: number, lane: number) =>
  `{"scope":"${QUIET_SCOPE}","data":{"id":"q${lane}-${k}","kind":"indicator","value":"198.51.100.${k % 256}"}}`;

interface GatewayCounters {
  received: number;
  /** Trickle events (CLIENT_SCOPE) received. */
  trickleReceived: number;
  busGaps: number;
  silentResubscribes: number;
  errors: number;
}

async function gatewayCounters(adminPort: number): Promise<GatewayCounters> {
  const { status, body } = await adminGet(adminPort, '/metrics', 10_000);
  if (status !== 200) throw new Error(`gateway /metrics answered ${status}`);
  const m = parsePrometheus(body);
  return {
    received: INGESTED.reduce(
      (s, scope) => s + metricSum(m, 'hydra_bus_events_received_total', [`scope="${scope}"`]),
      0,
    ),
    trickleReceived: metricSum(m, 'hydra_bus_events_received_total', [`scope="${CLIENT_SCOPE}"`]),
    busGaps: metricSum(m, 'hydra_bus_gaps_total'),
    silentResubscribes: metricSum(m, 'hydra_bus_silent_resubscribes_total'),
    errors: metricSum(m, 'hydra_errors_total'),
  };
}

async function storedSeqs(redis: BenchRedis): Promise<number> {
  const values = await redis.client.mget(...INGESTED.map((s) => redisKeys.scopeSeq(s)));
  return values.reduce((s, v) => s + Number(v ?? 0), 0);
}

/** Bytes Redis holds for pub/sub subscribers (CLIENT LIST's `omem`): the gateway's backlog, it being the only one. */
async function subscriberBacklog(redis: BenchRedis): Promise<number> {
  const list = (await redis.client.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  let max = 0;
  for (const m of list.matchAll(/\bomem=(\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

async function waitReady(adminPort: number): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const status = await adminGet(adminPort, '/readyz', PROBE_TIMEOUT_MS).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error(`the gateway was not ready within ${READY_TIMEOUT_MS} ms`);
}

/** Most events/s the flood's lanes may send (a count bound on their loops, far above what one Redis takes). */
const MAX_FLOOD_RATE = 1_000_000;

/**
 * Sends batches on `inFlight` lanes, each the next as soon as its previous one
 * is answered, until `stop()`, `durationMs` or MAX_FLOOD_RATE's count; counts
 * what is answered after `measure()`.
 */
function flood(port: number, inFlight: number, durationMs: number) {
  const deadline = performance.now() + durationMs;
  const maxBatches = Math.ceil((MAX_FLOOD_RATE * durationMs) / 1000 / BATCH);
  const entities = Array.from({ length: ENTITY_IDS / (BATCH / 2) }, (_, k) => floodEntities(k));
  const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
  let measuring = false;
  let stopped = false;
  let events = 0;
  let errors = 0;
  const latencies: number[] = [];
  const lanes = Array.from({ length: inFlight }, async (_, lane) => {
    for (let k = lane; !stopped && k < maxBatches && performance.now() < deadline; k += inFlight) {
      const t0 = performance.now();
      const body = `${entities[k % entities.length]!}\n${quietLine(k, lane)}`;
      const status = await post(agent, port, body).catch(() => 0);
      if (!measuring) continue;
      if (status === 200) {
        events += BATCH;
        latencies.push(performance.now() - t0);
      } else errors++;
    }
  });
  return {
    measure: () => {
      measuring = true;
    },
    /** Ends counting now; the lanes finish their batch in flight. */
    async stop() {
      measuring = false;
      const counted = { events, errors, latencies: [...latencies].sort((a, b) => a - b) };
      stopped = true;
      await Promise.all(lanes);
      agent.destroy();
      return counted;
    },
  };
}

const clientScopeIndex = SCOPE_NAMES.indexOf(CLIENT_SCOPE as (typeof SCOPE_NAMES)[number]);

async function connectClients(
  gw: RunningTarget,
  redis: BenchRedis,
  workers: WorkerPool,
  count: number,
  progress: (line: string) => void,
): Promise<number> {
  const keys = await hydraKeys(redis.url, [[clientScopeIndex]]);
  const c = await workers.connect(count, {
    protocol: 'hydra',
    port: gw.port,
    perIp: 10,
    rampPerSec: 2_000,
    maxInflight: 200,
    paths: clientPaths(gw, [[clientScopeIndex]], SCOPE_NAMES, keys, false),
    subs: [[clientScopeIndex]],
    scopeNames: [...SCOPE_NAMES],
    timeoutMs: 60_000,
  });
  if (c.open < count) progress(`  ${c.open}/${count} clients connected, failures ${JSON.stringify(c.failures)}`);
  return c.open;
}

/** What the trickle's clients received since the last `reset`, once `done` resolved and the deliveries settled. */
async function trickleFigures(
  workers: WorkerPool,
  done: Promise<{ published: number[] }>,
  clients: number,
): Promise<TrickleFigures> {
  const published = (await done).published.reduce((a, b) => a + b, 0);
  const expected = published * clients;
  let st = await workers.stats();
  for (const until = performance.now() + DRAIN_MS; st.messages < expected && performance.now() < until; ) {
    await sleep(250);
    st = await workers.stats();
  }
  return {
    published,
    expected,
    delivered: st.messages,
    lossPct: expected > 0 ? (100 * Math.max(0, expected - st.messages)) / expected : 0,
    p50Ms: st.latency.percentile(0.5) / 1000,
    p99Ms: st.latency.percentile(0.99) / 1000,
    maxMs: st.latency.max / 1000,
    closedByServer: st.closedByServer,
  };
}

/** The highest of the monitor's readings (s), as ms beyond its tick. */
const loopDelayMs = (readings: readonly number[]) =>
  readings.length === 0 ? Number.NaN : Math.max(0, Math.max(...readings) * 1000 - GATEWAY_LOOP_SAMPLE_MS);

/** A reading of the gateway's clocks: wall (probe ms), CPU, and its event loop's runqueue wait. */
interface GatewayClock {
  atMs: number;
  cpuS: number;
  waitS: number;
}

function readClock(pid: number, probe: GatewayProbe): GatewayClock {
  const cpu = cpuTimes(pid);
  return { atMs: probe.elapsedMs(), cpuS: cpu.user + cpu.sys, waitS: schedTimes(pid).waitS };
}

function windowFigures(
  a: GatewayClock,
  b: GatewayClock,
  metrics: readonly MetricsSample[],
  trickle: TrickleFigures | null,
): WindowFigures {
  const seconds = (b.atMs - a.atMs) / 1000;
  // A scrape covers the second before it: those taken inside the window, past its first second.
  const scrapes = metrics.filter((m) => m.atMs > a.atMs + METRICS_EVERY_MS && m.atMs <= b.atMs);
  return {
    seconds,
    cpuPct: (100 * (b.cpuS - a.cpuS)) / seconds,
    runqueueWaitPct: (100 * (b.waitS - a.waitS)) / seconds,
    lagP99Ms: loopDelayMs(scrapes.map((m) => m.lagP99S)),
    lagMaxMs: loopDelayMs(scrapes.map((m) => m.lagMaxS)),
    trickle,
  };
}

async function runPhase(
  phase: KeepUpPhase,
  round: number,
  o: KeepUpOptions,
  env: { redis: BenchRedis; workers: WorkerPool; trickle: Publisher },
  progress: (line: string) => void,
): Promise<KeepUpRow> {
  const { redis, workers, trickle } = env;
  await redis.client.flushall();
  const publisher = await startPublisher('chunked', redis.url);
  const gw = await startTarget('hydra', {
    redisUrl: redis.url,
    redisPort: redis.port,
    serverCpus: SERVER_CPUS,
    sideCpus: SIDE_CPUS,
    pingMs: 15_000,
    ...(o.gatewayMain === null ? {} : { gatewayMain: o.gatewayMain }),
    // Its own share of the machine's CPU where the kernel shares it by session first (procs.ts spawnPinned).
    ownSession: true,
  });
  let probe: GatewayProbe | null = null;
  let lanes: ReturnType<typeof flood> | null = null;
  try {
    await waitReady(gw.adminPort);
    const withClients = phase === 'clients';
    const open = withClients ? await connectClients(gw, redis, workers, o.clients, progress) : 0;
    const plan = {
      target: 'hydra' as const,
      redisUrl: redis.url,
      rate: o.trickleRate,
      scopes: [clientScopeIndex],
      scopeNames: [...SCOPE_NAMES],
      payloadBytes: TRICKLE_PAYLOAD_BYTES,
      entities: 0,
      burstMs: TRICKLE_BURST_MS,
    };
    // The trickle runs in both phases: with no client, `alerts` is a slow scope nobody holds beside the flood.
    const runTrickle = async (ms: number) => {
      if (withClients) await workers.all({ cmd: 'reset' });
      return trickle.run({ ...plan, durationMs: ms });
    };
    // Warm the trickle's path (JIT, the clients' subscriptions) before anything is measured.
    await runTrickle(1_000);

    const floodMs = INGEST_WARMUP_MS + o.seconds * 1_000;
    probe = GatewayProbe.start({
      pid: gw.pid,
      adminPort: gw.adminPort,
      readyEveryMs: READY_EVERY_MS,
      rssEveryMs: RSS_EVERY_MS,
      metricsEveryMs: METRICS_EVERY_MS,
      timeoutMs: PROBE_TIMEOUT_MS,
      maxMs: BASELINE_MS + floodMs + 60_000,
      backlogBytes: () => subscriberBacklog(redis),
    });

    // Baseline: pings, timers, the probes and the trickle, no flood.
    const base0 = readClock(gw.pid, probe);
    const baseTrickle = await runTrickle(BASELINE_MS);
    const base1 = readClock(gw.pid, probe);
    const baseTrickleFigures = withClients ? await trickleFigures(workers, Promise.resolve(baseTrickle), open) : null;

    const counters0 = await gatewayCounters(gw.adminPort);
    const floodFromMs = probe.elapsedMs();
    lanes = flood(publisher.port, o.inFlight, floodMs + 30_000);
    await sleep(INGEST_WARMUP_MS);
    const floodTrickle = runTrickle(o.seconds * 1_000);
    const flood0 = readClock(gw.pid, probe);
    const redis0 = await redisCounters(redis);
    lanes.measure();
    await sleep(o.seconds * 1_000);
    const counted = await lanes.stop();
    lanes = null;
    const flood1 = readClock(gw.pid, probe);
    const redis1 = await redisCounters(redis);
    // Over the whole phase: Redis was flushed and the gateway subscribed before the first event, so both
    // count from 0 (read at one instant mid-flood they would differ by the events in flight).
    const stored = await storedSeqs(redis);
    const readings = await probe.stop();
    probe = null;
    // What was stored reaches the gateway within moments: its counter is read until it catches up (≤ DRAIN_MS).
    let received = (await gatewayCounters(gw.adminPort)).received;
    for (const until = performance.now() + DRAIN_MS; received < stored && performance.now() < until; ) {
      await sleep(250);
      received = (await gatewayCounters(gw.adminPort)).received;
    }
    const counters1 = await gatewayCounters(gw.adminPort);
    const floodTrickleFigures = withClients
      ? await trickleFigures(workers, floodTrickle, open)
      : await floodTrickle.then(() => null);

    const baseline = windowFigures(base0, base1, readings.metrics, baseTrickleFigures);
    const floodFigures = windowFigures(flood0, flood1, readings.metrics, floodTrickleFigures);
    const cpuS = flood1.cpuS - flood0.cpuS;
    const events = counted.events;
    const series = (pick: (m: MetricsSample) => number): Sample[] =>
      readings.metrics.map((m) => ({ atMs: m.atMs, value: pick(m) }));
    const memory = (samples: readonly Sample[]) => memoryFigures(samples, floodFromMs, flood1.atMs);
    return {
      round,
      phase,
      clients: open,
      baseline,
      flood: floodFigures,
      ingestEventsPerSec: events / floodFigures.seconds,
      ingestErrors: counted.errors,
      batchP99Ms: percentile(counted.latencies, 99),
      stored,
      received,
      trickleReceived: counters1.trickleReceived,
      gatewayCpuUsPerEvent: events > 0 ? (cpuS * 1e6) / events : Number.NaN,
      gatewayNetCpuUsPerEvent:
        events > 0 ? ((cpuS - (baseline.cpuPct / 100) * floodFigures.seconds) * 1e6) / events : Number.NaN,
      redisCpuPct: (100 * (redis1.cpuS - redis0.cpuS)) / floodFigures.seconds,
      rss: memory(readings.rss),
      heapUsed: memory(series((m) => m.heapUsedBytes)),
      heapTotal: memory(series((m) => m.heapTotalBytes)),
      external: memory(series((m) => m.externalBytes)),
      readyChecks: readings.readyChecks,
      notReady: readings.notReady,
      notReadyBy: readings.notReadyBy,
      backlogPeakBytes: Math.max(0, ...readings.metrics.map((m) => m.backlogBytes).filter(Number.isFinite)),
      busGaps: counters1.busGaps - counters0.busGaps,
      silentResubscribes: counters1.silentResubscribes - counters0.silentResubscribes,
      errors: counters1.errors - counters0.errors,
      scrapes: readings.metrics,
      rssTrend: readings.rss
        .filter((s) => s.atMs >= floodFromMs)
        .map((s): [number, number] => [(s.atMs - floodFromMs) / 1000, s.value / 2 ** 20]),
    };
  } finally {
    await lanes?.stop();
    await probe?.stop();
    await workers.closeClients(30_000).catch(() => undefined);
    await gw.stop();
    await stopChild(publisher.child, 3_000);
  }
}

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const mb = (x: number) => f(x / 2 ** 20, 0);

export async function runKeepUp(
  argv: string[],
  env: { redis: BenchRedis; workers: WorkerPool; trickle: Publisher },
  progress: (line: string) => void,
): Promise<void> {
  const o = parseKeepUpArgs(argv);
  const load0 = loadavg();
  progress(
    `keep-up: ${o.phases.join(', ')}; ${o.seconds} s each, ${o.rounds} round(s); load ${load0.map((x) => x.toFixed(1)).join(' ')}`,
  );
  const rows: KeepUpRow[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    // Alternate which phase goes first, so a drift of the machine's load favours neither.
    const order = round % 2 === 1 ? o.phases : [...o.phases].reverse();
    for (const phase of order) {
      const r = await runPhase(phase, round, o, env, progress);
      const t = r.flood.trickle;
      progress(
        `keep-up r${round} ${phase}: ingest ${f(r.ingestEventsPerSec, 0)} ev/s; gateway ${f(r.flood.cpuPct, 0)}% core (baseline ${f(r.baseline.cpuPct, 1)}%), ${f(r.gatewayCpuUsPerEvent, 2)} µs/ev (net ${f(r.gatewayNetCpuUsPerEvent, 2)}); received ${r.received}/${r.stored}; RSS ${mb(r.rss.start)}/${mb(r.rss.peak)}/${mb(r.rss.end)} MiB (${r.rss.bounded ? 'bounded' : 'GREW'}); heap ${mb(r.heapUsed.start)}/${mb(r.heapUsed.peak)}/${mb(r.heapUsed.end)} MiB; not ready ${r.notReady}/${r.readyChecks}; loop delay p99 ${f(r.baseline.lagP99Ms)} → ${f(r.flood.lagP99Ms)} ms, runqueue wait ${f(r.baseline.runqueueWaitPct)} → ${f(r.flood.runqueueWaitPct)}%${t ? `; trickle p99 ${f(r.baseline.trickle?.p99Ms ?? Number.NaN)} → ${f(t.p99Ms)} ms, loss ${f(t.lossPct, 2)}%` : ''}`,
      );
      rows.push(r);
    }
  }
  const load1 = loadavg();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const method = {
    batch: BATCH,
    flooded: FLOODED,
    quietScope: QUIET_SCOPE,
    gatewayMain: o.gatewayMain ?? 'apps/gateway/dist/main.js',
    commit: machineInfo().commit,
    clientScope: CLIENT_SCOPE,
    warmupMs: INGEST_WARMUP_MS,
    baselineMs: BASELINE_MS,
    readyEveryMs: READY_EVERY_MS,
    rssEveryMs: RSS_EVERY_MS,
    metricsEveryMs: METRICS_EVERY_MS,
    probeTimeoutMs: PROBE_TIMEOUT_MS,
    loopTickMs: GATEWAY_LOOP_SAMPLE_MS,
  };
  writeFileSync(
    `${resultsDir}/keep-up-${stamp}.json`,
    JSON.stringify({ options: o, load: [load0, load1], method, rows }, null, 2),
  );
  writeFileSync(`${resultsDir}/keep-up-${stamp}.md`, keepUpReport({ options: o, load: [load0, load1], method, rows }));
  progress(`keep-up report: bench/results/keep-up-${stamp}.md`);
}
