/**
 * `pnpm bench --topology [--topology-seconds N] [--topology-rounds N] [--in-flight N]
 *   [--publishers 1,2] [--clients N] [--delivery-rate N]` (issue 15)
 *
 * Ingest and delivery on one Redis against a 3-master Redis Cluster (no
 * replicas), both running for the whole run, rows interleaved round by round
 * (which topology goes first alternates), so machine load hits both alike.
 *
 * - Ingest: real publisher processes (apps/publisher/dist/main.js, pinned to
 *   core 0) given the topology's variables, `--in-flight` 1,000-event NDJSON
 *   batches each, every batch 200 events of each of the five scopes (entity
 *   scopes cycling over 10,000 ids, log scopes with unique ids). Per row:
 *   events/s answered 200; per shard the Redis CPU (INFO cpu) over the events
 *   stored in the scopes it holds (their seq growth), and the sum over all
 *   shards; publisher CPU per event; p50/p99 of a batch's round trip.
 * - Delivery: a real gateway (apps/gateway/dist/main.js, core 0) on the
 *   topology, `--clients` raw WebSocket clients from one load worker (core 1)
 *   on all five scopes, the bench's paced publisher (publisher.ts, through the
 *   backplane, 20 ms bursts) at `--delivery-rate` events/s over the scopes.
 *   Per row: deliveries/s at the clients, gateway CPU per delivery, loss,
 *   latency (publish stamp to receipt), Redis CPU per event per shard.
 *
 * Redis, cluster nodes included, runs on core 1 with the load generator: on
 * this 2-core box the cluster cannot add Redis cores, so what carries over to
 * a real deployment is the CPU per event of each shard and how the scopes
 * spread the load over them (the placement table).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { SCOPES, type Scope } from '@hydra/protocol';
import { percentile } from './ingest.js';
import { INGEST_BATCH, INGEST_WARMUP_MS, IngestLoad, MAX_WINDOW_MS, MIN_BATCHES } from './ingest-load.js';
import { BENCH_INGEST_TOKEN } from './ingest-paths.js';
import { repoDir, resultsDir } from './paths.js';
import { cpuSeconds, cpuTimes, sleep, spawnPinned, stopChild, waitForLine } from './procs.js';
import type { BenchRedis } from './redis.js';
import type { BenchRedisCluster } from './redis-cluster.js';
import {
  clusterTopology,
  flushTopology,
  type RedisTopology,
  readShards,
  type ShardFigures,
  shardFigures,
  singleTopology,
} from './redis-topology.js';
import { hydraKeys, type Publisher, SCOPE_NAMES, SERVER_CPUS, SIDE_CPUS } from './scenarios.js';
import { clientPaths, startTarget } from './targets.js';
import { topologyReport } from './topology-report.js';
import type { DeliveryTopologyRow, IngestTopologyRow, TopologyOptions } from './topology-rows.js';
import type { WorkerPool } from './workers.js';

const ENTITY_IDS = 10_000;
/** A publisher process starts in well under a second; a machine loaded many times over its cores needs far longer. */
const START_TIMEOUT_MS = 90_000;
const PUBLISHER_MAIN = `${repoDir}/apps/publisher/dist/main.js`;
const DELIVERY_BURST_MS = 20;
const DELIVERY_PAYLOAD_BYTES = 170;
const IDLE_WINDOW_MS = 2_000;

export function parseTopologyArgs(argv: string[]): TopologyOptions {
  const o: TopologyOptions = {
    seconds: 10,
    rounds: 3,
    inFlight: 4,
    publishers: [1, 2],
    clients: 200,
    deliveryRate: 500,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = () => argv[++i] ?? '';
    if (a === '--topology-seconds') o.seconds = Number(next());
    else if (a === '--topology-rounds') o.rounds = Number(next());
    else if (a === '--in-flight') o.inFlight = Number(next());
    else if (a === '--publishers') o.publishers = next().split(',').map(Number);
    else if (a === '--clients') o.clients = Number(next());
    else if (a === '--delivery-rate') o.deliveryRate = Number(next());
    else if (a !== '--topology' && a !== '--') throw new Error(`--topology: unknown argument ${a}`);
  }
  const positive = (x: number) => Number.isInteger(x) && x > 0;
  if (!(o.seconds > 0)) throw new Error('--topology-seconds: a positive number');
  if (!positive(o.rounds) || !positive(o.inFlight) || !o.publishers.every(positive)) {
    throw new Error('--topology-rounds, --in-flight, --publishers: positive integers');
  }
  if (!positive(o.clients) || !(o.deliveryRate >= 0)) throw new Error('--clients > 0, --delivery-rate ≥ 0');
  return o;
}

const scopeData: Record<Scope, (id: string, k: number) => string> = {
  signals: (id, k) => `{"id":"${id}","kind":"osint","value":${k % 1000}}`,
  aircraft: (id, k) => `{"id":"${id}","lat":${(k % 170) - 85 + 0.25},"lon":${(k % 350) - 175 + 0.5},"altBaroFt":30000}`,
  vessels: (id, k) => `{"id":"${id}","lat":${(k % 170) - 85 + 0.5},"lon":${(k % 350) - 175 + 0.25},"sogKt":12.3}`,
  alerts: (id) => `{"id":"${id}","headline":"bench alert","severity":"Minor"}`,
  cyber: (id) => `{"id":"${id}","kind":"indicator","value":"198.51.100.7"}`,
};
const ENTITY = new Set<Scope>(['aircraft', 'vessels']);

/** Batch `k` of lane `tag`: the five scopes round-robin, entity ids cycling over ENTITY_IDS, log ids unique. */
export function mixedScopeBatch(tag: string, k: number): string {
  const lines: string[] = [];
  for (let i = 0; i < INGEST_BATCH; i++) {
    const scope = SCOPES[i % SCOPES.length]!;
    const n = k * INGEST_BATCH + i;
    const id = ENTITY.has(scope) ? `e${Math.floor(n / SCOPES.length) % ENTITY_IDS}` : `${tag}-${k}-${i}`;
    lines.push(`{"scope":"${scope}","data":${scopeData[scope](id, n)}}`);
  }
  return lines.join('\n');
}

const publisherPort = (line: string): number | undefined => {
  try {
    const o = JSON.parse(line) as { msg?: string; port?: number };
    return o.msg === 'publisher listening' && typeof o.port === 'number' ? o.port : undefined;
  } catch {
    return undefined;
  }
};

/** The real publisher on the topology: the operator's variables only (any HYDRA_REDIS_* of the shell is dropped). */
async function startPublisher(t: RedisTopology) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HYDRA_REDIS_')));
  const child = spawnPinned(
    SERVER_CPUS,
    process.execPath,
    [PUBLISHER_MAIN],
    { ...env, ...t.env, HYDRA_PUBLISHER_PORT: '0', HYDRA_INGEST_TOKEN: BENCH_INGEST_TOKEN, HYDRA_LOG_LEVEL: 'info' },
    repoDir,
  );
  child.stderr?.resume();
  const port = await waitForLine(child, publisherPort, START_TIMEOUT_MS);
  return { child, port };
}

async function ingestRow(
  t: RedisTopology,
  round: number,
  publishers: number,
  o: TopologyOptions,
): Promise<IngestTopologyRow> {
  await flushTopology(t);
  const procs = await Promise.all(Array.from({ length: publishers }, () => startPublisher(t)));
  const load = new IngestLoad(
    procs.map(({ port }) => port),
    o.inFlight,
    (p, lane, k) => mixedScopeBatch(`${t.name}r${round}p${p}l${lane}`, k),
  );
  try {
    await sleep(INGEST_WARMUP_MS);
    let cpu0: number[] = [];
    let cpu1: number[] = [];
    let shards0: Awaited<ReturnType<typeof readShards>> | undefined;
    let shards1: Awaited<ReturnType<typeof readShards>> | undefined;
    const elapsedS = await load.measure(
      o.seconds,
      async () => {
        cpu0 = procs.map(({ child }) => cpuSeconds(child.pid ?? 0));
        shards0 = await readShards(t);
      },
      async () => {
        shards1 = await readShards(t);
        cpu1 = procs.map(({ child }) => cpuSeconds(child.pid ?? 0));
      },
    );
    const { events, errors, latencies } = load;
    const shards = shardFigures(t, shards0!, shards1!);
    const stored = shards.reduce((s, x) => s + x.events, 0);
    return {
      round,
      topology: t.name,
      publishers,
      inFlight: o.inFlight,
      eventsPerSec: events / elapsedS,
      errors,
      shards,
      redisCpuUsPerEvent: stored > 0 ? shards.reduce((s, x) => s + x.cpuUs, 0) / stored : Number.NaN,
      publisherCpuUsPerEvent: events > 0 ? (cpu1.reduce((s, c, i) => s + c - cpu0[i]!, 0) * 1e6) / events : Number.NaN,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      elapsedS,
    };
  } finally {
    await load.stop();
    await Promise.all(procs.map(({ child }) => stopChild(child, 3_000)));
  }
}

async function deliveryRow(
  t: RedisTopology,
  round: number,
  o: TopologyOptions,
  workers: WorkerPool,
  publisher: Publisher,
  progress: (line: string) => void,
): Promise<DeliveryTopologyRow> {
  await flushTopology(t);
  const gw = await startTarget('hydra', {
    redisUrl: t.env.HYDRA_REDIS_URL ?? '',
    redisPort: 0, // read by the peers' targets only
    redisEnv: t.env,
    serverCpus: SERVER_CPUS,
    sideCpus: SIDE_CPUS,
    pingMs: 15_000,
  });
  try {
    const all = SCOPE_NAMES.map((_, i) => i);
    const keys = await hydraKeys(t.target, [all]);
    const c = await workers.connect(o.clients, {
      protocol: 'hydra',
      port: gw.port,
      perIp: 10,
      rampPerSec: 2000,
      maxInflight: 200,
      paths: clientPaths(gw, [all], SCOPE_NAMES, keys, false),
      subs: [all],
      scopeNames: [...SCOPE_NAMES],
      timeoutMs: 60_000,
    });
    if (c.open < o.clients)
      progress(`  ${t.name}: ${c.open}/${o.clients} clients, failures ${JSON.stringify(c.failures)}`);
    const plan = {
      target: 'hydra' as const,
      redisUrl: t.env.HYDRA_REDIS_URL ?? '',
      redisEnv: { ...t.env },
      rate: o.deliveryRate,
      scopes: all,
      scopeNames: [...SCOPE_NAMES],
      payloadBytes: DELIVERY_PAYLOAD_BYTES,
      entities: 0, // unique ids: log scopes' events are all distinct
      burstMs: DELIVERY_BURST_MS,
    };
    await publisher.run({ ...plan, durationMs: INGEST_WARMUP_MS }); // JIT, buffers, the gateway's subscriptions
    await sleep(300);
    // The fixed cost: gateway and shards with the clients connected and nothing published
    // (pings, timers, the cluster bus), which at low rates is much of the per-event figures.
    const idle0 = { gateway: cpuTimes(gw.pid), shards: await readShards(t), at: performance.now() };
    await sleep(IDLE_WINDOW_MS);
    const idleS = (performance.now() - idle0.at) / 1000;
    const idleGateway = cpuTimes(gw.pid);
    const idleShards = shardFigures(t, idle0.shards, await readShards(t));
    const gatewayIdleCpuS = idleGateway.user + idleGateway.sys - (idle0.gateway.user + idle0.gateway.sys);
    await workers.all({ cmd: 'reset' });
    const cpu0 = cpuTimes(gw.pid);
    const shards0 = await readShards(t);
    const t0 = performance.now();
    const done = await publisher.run({ ...plan, durationMs: o.seconds * 1000 });
    const elapsedS = (performance.now() - t0) / 1000;
    const shards1 = await readShards(t);
    await workers.all({ cmd: 'mark' });
    const published = done.published.reduce((a, b) => a + b, 0);
    const expected = published * c.open;
    // Drain: until everything expected arrived or nothing moved for 750 ms (at most 6 s).
    let st = await workers.stats();
    let last = st.messages;
    let still = 0;
    const drainBy = performance.now() + 6000;
    while (st.messages < expected && performance.now() < drainBy && still < 3) {
      await sleep(250);
      st = await workers.stats();
      still = st.messages === last ? still + 1 : 0;
      last = st.messages;
    }
    // Gateway CPU from the first publish to the end of the drain, over every message received meanwhile.
    const cpu1 = cpuTimes(gw.pid);
    const gatewayWallS = (performance.now() - t0) / 1000;
    const gatewayCpuS = cpu1.user + cpu1.sys - (cpu0.user + cpu0.sys);
    const gatewayIdlePct = (100 * gatewayIdleCpuS) / idleS;
    const shards = shardFigures(t, shards0, shards1);
    const stored = shards.reduce((s, x) => s + x.events, 0);
    const redisCpuUs = shards.reduce((s, x) => s + x.cpuUs, 0);
    const redisIdleUsPerS = idleShards.reduce((s, x) => s + x.cpuUs, 0) / idleS;
    await workers.closeClients();
    const perMessage = (us: number) => (st.messages > 0 ? us / st.messages : Number.NaN);
    return {
      round,
      topology: t.name,
      clients: c.open,
      offeredEventsPerSec: published / (done.ms / 1000),
      published,
      deliveriesPerSec: st.messagesAtMark / elapsedS,
      lossPct: expected > 0 ? (100 * Math.max(0, expected - st.messages)) / expected : 0,
      gaps: st.gaps,
      gatewayCpuPct: (100 * gatewayCpuS) / gatewayWallS,
      gatewayIdleCpuPct: gatewayIdlePct,
      gatewayCpuUsPerDelivery: perMessage(gatewayCpuS * 1e6),
      gatewayNetCpuUsPerDelivery: perMessage((gatewayCpuS - (gatewayIdlePct / 100) * gatewayWallS) * 1e6),
      p50Ms: st.latency.percentile(0.5) / 1000,
      p99Ms: st.latency.percentile(0.99) / 1000,
      shards,
      shardIdleCorePct: idleShards.map((x) => (100 * x.cpuUs) / 1e6 / idleS),
      redisCpuUsPerEvent: stored > 0 ? redisCpuUs / stored : Number.NaN,
      redisNetCpuUsPerEvent: stored > 0 ? (redisCpuUs - redisIdleUsPerS * elapsedS) / stored : Number.NaN,
      closedByServer: st.closedByServer,
      elapsedS,
    };
  } finally {
    await workers.closeClients().catch(() => undefined);
    await gw.stop();
  }
}

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

export async function runTopology(
  argv: string[],
  env: { redis: BenchRedis; cluster: BenchRedisCluster; workers: WorkerPool; publisher: Publisher },
  progress: (line: string) => void,
): Promise<void> {
  const o = parseTopologyArgs(argv);
  const topologies = [singleTopology(env.redis), await clusterTopology(env.cluster)];
  const cluster = topologies[1]!;
  progress(
    `cluster placement: ${SCOPES.map((s) => `${s} → ${cluster.placement[s]}`).join(', ')}; load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const load0 = loadavg();
  const ingest: IngestTopologyRow[] = [];
  const delivery: DeliveryTopologyRow[] = [];
  const shardText = (shards: readonly ShardFigures[]) =>
    shards.map((s) => `${s.address.split(':')[1]} ${f(s.cpuUsPerEvent, 2)}`).join(' · ');
  for (let round = 1; round <= o.rounds; round++) {
    // Alternate which topology goes first, so a drift of the machine's load favours neither.
    const order = round % 2 === 1 ? topologies : [...topologies].reverse();
    for (const publishers of o.publishers) {
      for (const t of order) {
        const row = await ingestRow(t, round, publishers, o);
        progress(
          `ingest r${round} ${t.label} ×${publishers}: ${f(row.eventsPerSec, 0)} ev/s, Redis ${f(row.redisCpuUsPerEvent, 2)} µs/ev (per shard ${shardText(row.shards)}), publisher ${f(row.publisherCpuUsPerEvent)} µs/ev, p99 ${f(row.p99Ms)} ms${row.errors ? `, ${row.errors} errors` : ''}`,
        );
        ingest.push(row);
      }
    }
    if (o.deliveryRate === 0) continue;
    for (const t of order) {
      const row = await deliveryRow(t, round, o, env.workers, env.publisher, progress);
      progress(
        `delivery r${round} ${t.label}: ${f(row.deliveriesPerSec, 0)} deliveries/s to ${row.clients} clients, loss ${f(row.lossPct, 2)}%, gateway ${f(row.gatewayCpuUsPerDelivery, 2)} µs/delivery (${f(row.gatewayCpuPct, 0)}%, idle ${f(row.gatewayIdleCpuPct, 0)}%, net ${f(row.gatewayNetCpuUsPerDelivery, 2)} µs), p99 ${f(row.p99Ms)} ms, Redis ${f(row.redisCpuUsPerEvent, 2)} µs/ev (net of idle ${f(row.redisNetCpuUsPerEvent, 2)}; per shard ${shardText(row.shards)})`,
      );
      delivery.push(row);
    }
  }
  const load1 = loadavg();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const placement = Object.fromEntries(topologies.map((t) => [t.name, t.placement]));
  writeFileSync(
    `${resultsDir}/topology-${stamp}.json`,
    JSON.stringify({ options: o, load: [load0, load1], placement, ingest, delivery }, null, 2),
  );
  writeFileSync(
    `${resultsDir}/topology-${stamp}.md`,
    topologyReport({
      options: o,
      load: [load0, load1],
      topologies,
      ingest,
      delivery,
      method: {
        batch: INGEST_BATCH,
        warmupMs: INGEST_WARMUP_MS,
        minBatches: MIN_BATCHES,
        maxWindowMs: MAX_WINDOW_MS,
        idleWindowMs: IDLE_WINDOW_MS,
      },
    }),
  );
  progress(`topology report: bench/results/topology-${stamp}.md`);
}
