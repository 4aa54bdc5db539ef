/**
 * The scenarios. Each one starts what it needs, measures, and stops
 * it again; every wait is bounded.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBackplane, DEFAULT_RETENTION, parseRetention } from '@hydra/backplane';
import type { RedisTarget } from '@hydra/config';
import type { Scope } from '@hydra/protocol';
import { makePayload } from './payload.js';
import { coreJiffies, cpuSeconds, cpuTimes, forkPinned, rssBytes, sleep } from './procs.js';
import type { PublisherEvent, PublishPlan } from './protocol.js';
import type { BenchRedis } from './redis.js';
import { calm, median } from './stats.js';
import { clientPaths, type RunningTarget, startTarget, type TargetKind } from './targets.js';
import type { MergedStats, WorkerPool } from './workers.js';

export const SCOPE_NAMES = ['signals', 'aircraft', 'vessels', 'alerts', 'cyber'] as const;
const PUBLISHER = fileURLToPath(new URL('./publisher.js', import.meta.url));
export const SERVER_CPUS = '0';
export const SIDE_CPUS = '1';
const PAYLOAD_BYTES = 170;

export interface Ctx {
  redis: BenchRedis;
  workers: WorkerPool;
  publisher: Publisher;
  pingMs: number;
  /** Publisher burst interval (ms): the events due are sent together every burstMs. */
  burstMs: number;
  progress: (line: string) => void;
}

export class Publisher {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<Publisher> {
    const child = forkPinned(SIDE_CPUS, PUBLISHER);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('publisher did not start')), 10_000);
      child.once('message', () => {
        clearTimeout(t);
        resolve();
      });
    });
    return new Publisher(child);
  }

  run(plan: Omit<PublishPlan, 'cmd'>): Promise<{ published: number[]; ms: number; errors: number }> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('publisher did not finish')), plan.durationMs + 20_000);
      const onMessage = (m: PublisherEvent) => {
        if (m.ev !== 'done') return;
        clearTimeout(t);
        this.child.off('message', onMessage);
        resolve(m);
      };
      this.child.on('message', onMessage);
      this.child.send({ ...plan, cmd: 'publish' });
    });
  }

  /** Ends the running plan early (its `run` promise then resolves). */
  finish(): void {
    this.child.send({ cmd: 'stop' });
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Creates Hydra API keys, one per scope set, straight in the run's Redis (a URL, or any topology's target). */
export async function hydraKeys(redis: string | RedisTarget, scopeSets: number[][]): Promise<string[]> {
  const bp = createBackplane(
    typeof redis === 'string'
      ? { kind: 'redis', url: redis, retention: DEFAULT_RETENTION }
      : { kind: 'redis', target: redis, retention: DEFAULT_RETENTION },
  );
  try {
    const keys: string[] = [];
    for (const set of scopeSets) {
      const { key } = await bp.keys.create({ scopes: set.map((i) => SCOPE_NAMES[i] as Scope), name: 'bench' });
      keys.push(key);
    }
    return keys;
  } finally {
    await bp.close();
  }
}

/** The product's default ping interval (HYDRA_PING_INTERVAL_MS), for scenarios that do not count pings. */
const DEFAULT_PING_MS = 15_000;

async function start(ctx: Ctx, kind: TargetKind, pingMs = ctx.pingMs, retention?: string): Promise<RunningTarget> {
  return startTarget(kind, {
    redisUrl: ctx.redis.url,
    redisPort: ctx.redis.port,
    serverCpus: SERVER_CPUS,
    sideCpus: SIDE_CPUS,
    pingMs,
    retention,
  });
}

async function connectClients(
  ctx: Ctx,
  t: RunningTarget,
  count: number,
  subs: number[][],
  opts: { snapshot?: boolean; rampPerSec?: number; maxInflight?: number; timeoutMs?: number } = {},
) {
  const keys = t.protocol === 'hydra' ? await hydraKeys(ctx.redis.url, subs) : [];
  const paths = clientPaths(t, subs, SCOPE_NAMES, keys, opts.snapshot ?? false);
  const res = await ctx.workers.connect(count, {
    protocol: t.protocol,
    port: t.port,
    perIp: 10,
    rampPerSec: Math.ceil((opts.rampPerSec ?? 2000) / ctx.workers.size),
    maxInflight: Math.ceil((opts.maxInflight ?? 200) / ctx.workers.size),
    paths,
    subs,
    scopeNames: [...SCOPE_NAMES],
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
  // Socket.IO, Pusher and Centrifuge clients join their rooms/channels after the upgrade.
  if (t.protocol === 'sio' || t.protocol === 'pusher' || t.protocol === 'centrifuge') await sleep(500);
  return res;
}

/** Subscribers per scope index when `count` clients cycle through `subs` evenly per worker. */
function subscribersPerScope(ctx: Ctx, count: number, subs: number[][]): number[] {
  const out = SCOPE_NAMES.map(() => 0);
  const per = Math.ceil(count / ctx.workers.size);
  for (let w = 0; w < ctx.workers.size; w++) {
    const n = Math.max(0, Math.min(per, count - w * per));
    for (let i = 0; i < n; i++) for (const s of subs[i % subs.length] ?? []) out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

export interface LoadPoint {
  target: TargetKind;
  instance: string;
  round: number;
  offered: number;
  clients: number;
  eventsPerSec: number;
  published: number;
  expected: number;
  received: number;
  delivered: number;
  loss: number;
  lossPct: number;
  gaps: number;
  dups: number;
  p50: number;
  p99: number;
  p999: number;
  maxMs: number;
  serverCpuPct: number;
  /** Server CPU split: user (JS + uWS) and system (syscalls, and loopback softirq charged to the sender). */
  serverUserPct: number;
  serverSysPct: number;
  cpuUsPerDelivery: number;
  /** The user-space share of cpuUsPerDelivery: the server's own code (JS, native library), without the kernel's. */
  userCpuUsPerDelivery: number;
  clientCpuPct: number;
  /** The client core's total busy share (clients, publisher, Redis and anything else on it). */
  sideCoreBusyPct: number;
  /** Messages per socket read at the clients: how many messages the server packed per write. */
  msgsPerRead: number;
  /** Average message size on the wire (payload with the server's envelope, WebSocket header excluded). */
  msgBytes: number;
  /** Bytes read from the sockets per message received: frame headers, compression and pings included. */
  wireBytesPerMsg: number;
  /** Load-generator CPU per message received (all workers), and the system-time share of it. */
  clientUsPerMsg: number;
  clientSysShare: number;
  clientBound: boolean;
  serverRssMb: number;
  closedByServer: number;
  pausedClosed?: number;
  publishErrors: number;
}

const ms = (us: number) => (Number.isFinite(us) ? us / 1000 : Number.NaN);

/**
 * One measured load point: publish at `eventsPerSec` for `durationMs`, wait
 * (bounded) for deliveries to drain, read the clients' and server's figures.
 */
export async function measure(
  ctx: Ctx,
  t: RunningTarget,
  o: {
    instance: string;
    round: number;
    clients: number;
    subs: number[][];
    scopes: number[];
    eventsPerSec: number;
    durationMs: number;
    payloadBytes?: number;
    /** The publisher's payload (PublishPlan.payloadKind) and entity count; default padded, unique ids. */
    payloadKind?: 'padded' | 'aircraft';
    entities?: number;
    onStarted?: () => Promise<void>;
  },
): Promise<LoadPoint> {
  const perScope = subscribersPerScope(ctx, o.clients, o.subs);
  await ctx.workers.all({ cmd: 'reset' });
  const cpu0 = cpuTimes(t.pid);
  const side0 = coreJiffies(Number(SIDE_CPUS));
  const t0 = performance.now();
  const pub = ctx.publisher.run({
    target: t.publishTarget,
    redisUrl: ctx.redis.url,
    httpPort: t.httpPort,
    rate: o.eventsPerSec,
    scopes: o.scopes,
    scopeNames: [...SCOPE_NAMES],
    durationMs: o.durationMs,
    payloadBytes: o.payloadBytes ?? PAYLOAD_BYTES,
    payloadKind: o.payloadKind,
    entities: o.entities ?? 0,
    burstMs: ctx.burstMs,
  });
  if (o.onStarted) await o.onStarted();
  const done = await pub;
  const cpu1 = cpuTimes(t.pid);
  const side1 = coreJiffies(Number(SIDE_CPUS));
  const wall = (performance.now() - t0) / 1000;
  await ctx.workers.all({ cmd: 'mark' });
  const rss = rssBytes(t.pid);
  const expected = done.published.reduce((sum, n, s) => sum + n * (perScope[s] ?? 0), 0);
  // Drain: until everything expected arrived or nothing moved for 750 ms (at most 6 s).
  let st: MergedStats = await ctx.workers.stats();
  let lastCount = st.messages;
  let still = 0;
  const drainBy = performance.now() + 6000;
  while (st.messages < expected && performance.now() < drainBy && still < 3) {
    await sleep(250);
    st = await ctx.workers.stats();
    still = st.messages === lastCount ? still + 1 : 0;
    lastCount = st.messages;
  }
  // CPU per delivery: everything the server spent from the first publish to
  // the end of the drain, over every message the clients received in that time
  // (the same work on both sides, also for a server that lags behind).
  const cpu2 = cpuTimes(t.pid);
  const published = done.published.reduce((a, b) => a + b, 0);
  const loss = Math.max(0, expected - st.messages);
  const deliveredInWindow = st.messagesAtMark;
  const user = cpu1.user - cpu0.user;
  const sys = cpu1.sys - cpu0.sys;
  const cpu = user + sys;
  const cpuAll = cpu2.user + cpu2.sys - (cpu0.user + cpu0.sys);
  const sideBusy = (side1.busy - side0.busy) / Math.max(1, side1.total - side0.total);
  return {
    target: t.kind,
    instance: o.instance,
    round: o.round,
    offered: Math.round(expected / Math.max(1e-9, done.ms / 1000) / 1000) * 1000,
    clients: o.clients,
    eventsPerSec: o.eventsPerSec,
    published,
    expected,
    received: st.messages,
    delivered: Math.round(deliveredInWindow / wall),
    loss,
    lossPct: expected > 0 ? (100 * loss) / expected : 0,
    gaps: st.gaps,
    dups: st.dups,
    p50: ms(st.latency.percentile(0.5)),
    p99: ms(st.latency.percentile(0.99)),
    p999: ms(st.latency.percentile(0.999)),
    maxMs: ms(st.latency.max),
    serverCpuPct: (100 * cpu) / wall,
    serverUserPct: (100 * user) / wall,
    serverSysPct: (100 * sys) / wall,
    cpuUsPerDelivery: st.messages > 0 ? (cpuAll * 1e6) / st.messages : Number.NaN,
    userCpuUsPerDelivery: st.messages > 0 ? ((cpu2.user - cpu0.user) * 1e6) / st.messages : Number.NaN,
    clientCpuPct: 100 * st.clientCpu,
    sideCoreBusyPct: 100 * sideBusy,
    msgsPerRead: st.readsAtMark > 0 ? st.messagesAtMark / st.readsAtMark : Number.NaN,
    msgBytes: st.messages > 0 ? st.messageBytes / st.messages : Number.NaN,
    wireBytesPerMsg: st.messages > 0 ? st.wireBytes / st.messages : Number.NaN,
    clientUsPerMsg: st.messages > 0 ? (st.cpuMs * 1000) / st.messages : Number.NaN,
    clientSysShare: st.cpuMs > 0 ? st.cpuSysMs / st.cpuMs : Number.NaN,
    clientBound: st.clientCpu > 0.8 || sideBusy > 0.95,
    serverRssMb: rss / 2 ** 20,
    closedByServer: st.closedByServer,
    pausedClosed: st.pausedClosed,
    publishErrors: done.errors,
  };
}

const fmtPoint = (p: LoadPoint) =>
  `${p.instance.padEnd(8)} offered ${String(p.offered).padStart(7)}/s delivered ${String(p.delivered).padStart(7)}/s ` +
  `loss ${p.lossPct.toFixed(2)}% p99 ${p.p99.toFixed(1)} ms cpu ${p.serverCpuPct.toFixed(0)}% ` +
  `(usr ${p.serverUserPct.toFixed(0)} sys ${p.serverSysPct.toFixed(0)}; ${p.cpuUsPerDelivery.toFixed(2)} µs/delivery) ` +
  `${p.msgsPerRead.toFixed(2)} msg/read, ${p.msgBytes.toFixed(0)} B/msg; clients ${p.clientCpuPct.toFixed(0)}% (${p.clientUsPerMsg.toFixed(2)} µs/msg, ${(100 * p.clientSysShare).toFixed(0)}% sys), core 1 ${p.sideCoreBusyPct.toFixed(0)}%${p.clientBound ? ' CLIENT-BOUND' : ''}`;

/** Scenario 1: steady fan-out of one scope to `clients` clients at each offered load (deliveries/s). */
export async function fanout(
  ctx: Ctx,
  kind: TargetKind,
  instance: string,
  round: number,
  o: { clients: number; loads: number[]; durationMs: number },
): Promise<LoadPoint[]> {
  const t = await start(ctx, kind);
  const out: LoadPoint[] = [];
  try {
    const subs = [[0]];
    const c = await connectClients(ctx, t, o.clients, subs);
    ctx.progress(`  ${instance}: ${c.open}/${o.clients} clients in ${(c.ms / 1000).toFixed(1)} s`);
    if (c.open < o.clients) ctx.progress(`  ${instance}: connect failures ${JSON.stringify(c.failures)}`);
    // Warm-up: JIT and buffers, not measured.
    await ctx.publisher.run({
      target: t.publishTarget,
      redisUrl: ctx.redis.url,
      httpPort: t.httpPort,
      rate: (o.loads[0] ?? 25_000) / o.clients,
      scopes: [0],
      scopeNames: [...SCOPE_NAMES],
      durationMs: 1000,
      payloadBytes: PAYLOAD_BYTES,
      entities: 0,
      burstMs: ctx.burstMs,
    });
    await sleep(300);
    for (const load of o.loads) {
      const p = await measure(ctx, t, {
        instance,
        round,
        clients: c.open,
        subs,
        scopes: [0],
        eventsPerSec: load / o.clients,
        durationMs: o.durationMs,
      });
      p.offered = load;
      out.push(p);
      ctx.progress(`  ${fmtPoint(p)}`);
      await sleep(300);
    }
  } finally {
    await ctx.workers.closeClients();
    await t.stop();
  }
  return out;
}

/** Scenario 2: 5 scopes, client i holds the first (i mod 5) + 1 of them. */
export async function scopeFiltering(
  ctx: Ctx,
  kind: TargetKind,
  instance: string,
  round: number,
  o: { clients: number; offered: number; durationMs: number },
): Promise<LoadPoint> {
  const t = await start(ctx, kind);
  try {
    const subs = [[0], [0, 1], [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4]];
    const c = await connectClients(ctx, t, o.clients, subs);
    const perScope = subscribersPerScope(ctx, c.open, subs);
    const avgSubs = perScope.reduce((a, b) => a + b, 0) / SCOPE_NAMES.length;
    const p = await measure(ctx, t, {
      instance,
      round,
      clients: c.open,
      subs,
      scopes: [0, 1, 2, 3, 4],
      eventsPerSec: o.offered / avgSubs,
      durationMs: o.durationMs,
    });
    p.offered = o.offered;
    ctx.progress(`  ${fmtPoint(p)}`);
    return p;
  } finally {
    await ctx.workers.closeClients();
    await t.stop();
  }
}

export interface IdleMemory {
  target: TargetKind;
  instance: string;
  round: number;
  connections: number;
  open: number;
  /** Settled RSS of the server with no client (started, then the same settle as every step). */
  rssBaseMb: number;
  rssMb: number;
  /** Growth from the baseline over the open connections: includes the fixed cost of having any client. */
  kbPerConnection: number;
  /** Slope: RSS growth per connection since the previous step (the fixed share cancels out); first step: as kbPerConnection. */
  kbPerConnectionMarginal: number;
  /** RSS change over the sampling window of the baseline and of this reading (last − first sample): not settled when large. */
  rssBaseDriftMb: number;
  rssDriftMb: number;
  /** Baseline and this reading both taken in a calm window (else at the wait's cap), and how long this reading waited. */
  settled: boolean;
  waitedMs: number;
  /** Least wait before each reading (baseline included), and how many servers were measured side by side. */
  settleMs: number;
  together: number;
  pings: number;
  connectsPerSec: number;
}

/** Where one server of scenario 3 runs: its own worker pool when several are measured side by side. */
export interface IdleTarget {
  kind: TargetKind;
  instance: string;
  workers: WorkerPool;
}

export interface SettledRss {
  /** Median of the samples in the reading window. */
  rss: number;
  /** Last − first sample of that window. */
  drift: number;
  /** Whether the window was calm (span ≤ max(1 MiB, 1.5%)) before `maxMs`. */
  settled: boolean;
  waitedMs: number;
}

/**
 * Waits at least `minMs` and at most `maxMs`, sampling every process's RSS
 * every 500 ms from `minMs − windowMs` on. A process's reading is the median
 * of its first calm window of `windowMs` ending at or after `minMs` (a late
 * V8 heap shrink in the window makes it wait for the next calm one), else, at
 * `maxMs`, of its last window, marked not settled (its RSS still moves: a
 * server whose garbage piles up between GCs while idle).
 */
async function settledRss(pids: number[], minMs: number, maxMs: number, windowMs: number): Promise<SettledRss[]> {
  const t0 = performance.now();
  const window = Math.max(0, Math.min(windowMs, minMs));
  const per = Math.max(1, Math.round(window / 500) + 1);
  await sleep(minMs - window);
  const samples: number[][] = pids.map(() => []);
  const out: Array<SettledRss | null> = pids.map(() => null);
  const read = (i: number, settled: boolean): SettledRss => {
    const xs = (samples[i] ?? []).slice(-per);
    return {
      rss: median(xs.filter(Number.isFinite)),
      drift: (xs[xs.length - 1] ?? Number.NaN) - (xs[0] ?? Number.NaN),
      settled,
      waitedMs: performance.now() - t0,
    };
  };
  for (;;) {
    for (const [i, pid] of pids.entries()) samples[i]?.push(rssBytes(pid));
    const elapsed = performance.now() - t0;
    if (elapsed >= minMs - 1) {
      for (const i of pids.keys()) {
        if (out[i] === null && calm((samples[i] ?? []).slice(-per))) out[i] = read(i, true);
      }
    }
    if (out.every((x) => x !== null)) break;
    if (elapsed >= maxMs) {
      for (const i of pids.keys()) if (out[i] === null) out[i] = read(i, false);
      break;
    }
    await sleep(500);
  }
  return out as SettledRss[];
}

/**
 * Scenario 3: RSS growth per idle connection (authenticated for Hydra) with
 * pings on. Every reading, the baseline included, is taken after the same
 * settle (`settleMs`, longer than V8's idle heap shrink, which runs 8–15 s
 * after start-up or a burst of work): server started with no client, settle,
 * baseline; then per step connect the clients, settle, read. Several targets
 * are measured side by side (each with its own client pool) when given
 * together: every phase, and so every settle, is then shared.
 */
export async function idleMemory(
  ctx: Ctx,
  targets: IdleTarget[],
  round: number,
  o: { steps: number[]; settleMs: number; maxSettleMs: number },
): Promise<IdleMemory[]> {
  const running: Array<{ it: IdleTarget; t: RunningTarget }> = [];
  const out: IdleMemory[] = [];
  try {
    for (const it of targets) running.push({ it, t: await start(ctx, it.kind) });
    const windowMs = Math.min(ctx.pingMs, o.settleMs / 2);
    const maxMs = Math.max(o.settleMs, o.maxSettleMs);
    const pids = running.map((r) => r.t.pid);
    const base = await settledRss(pids, o.settleMs, maxMs, windowMs);
    const prev = running.map((_, i) => ({ rss: base[i]?.rss as number, open: 0 }));
    const totals = running.map(() => 0);
    for (const target of o.steps) {
      const connects: Array<{ open: number; ms: number }> = [];
      for (const [i, { it, t }] of running.entries()) {
        const c = await connectClients({ ...ctx, workers: it.workers }, t, target - (totals[i] ?? 0), [[0]], {
          rampPerSec: 4000,
          maxInflight: 300,
        });
        totals[i] = (totals[i] ?? 0) + c.open;
        connects.push(c);
        await it.workers.all({ cmd: 'reset' });
      }
      const rss = await settledRss(pids, o.settleMs, maxMs, windowMs);
      for (const [i, { it }] of running.entries()) {
        const st = await it.workers.stats();
        const r = rss[i]?.rss as number;
        const b = base[i]?.rss as number;
        const p = prev[i] as { rss: number; open: number };
        const c = connects[i] as { open: number; ms: number };
        const m: IdleMemory = {
          target: it.kind,
          instance: it.instance,
          round,
          connections: target,
          open: st.open,
          rssBaseMb: b / 2 ** 20,
          rssMb: r / 2 ** 20,
          kbPerConnection: (r - b) / 1024 / Math.max(1, st.open),
          kbPerConnectionMarginal: (r - p.rss) / 1024 / Math.max(1, st.open - p.open),
          rssBaseDriftMb: (base[i]?.drift as number) / 2 ** 20,
          rssDriftMb: (rss[i]?.drift as number) / 2 ** 20,
          settled: base[i]?.settled === true && rss[i]?.settled === true,
          waitedMs: rss[i]?.waitedMs as number,
          settleMs: o.settleMs,
          together: running.length,
          pings: st.pings,
          connectsPerSec: c.open / (c.ms / 1000),
        };
        out.push(m);
        ctx.progress(
          `  ${it.instance.padEnd(8)} ${String(st.open).padStart(6)} idle conns: RSS ${m.rssBaseMb.toFixed(0)} → ${m.rssMb.toFixed(0)} MB, ` +
            `${m.kbPerConnection.toFixed(2)} KB/conn from baseline, slope ${m.kbPerConnectionMarginal.toFixed(2)} KB/conn since ${p.open}, ` +
            `${st.pings} pings; read after ${(m.waitedMs / 1000).toFixed(0)} s${m.settled ? '' : ' (NOT SETTLED)'}, drift over the reading window ${m.rssBaseDriftMb.toFixed(1)} / ${m.rssDriftMb.toFixed(1)} MB`,
        );
        prev[i] = { rss: r, open: st.open };
      }
    }
  } finally {
    for (const { it } of running) await it.workers.closeClients().catch(() => undefined);
    await Promise.all(running.map(({ t }) => t.stop()));
  }
  return out;
}

export interface StormResult {
  round: number;
  clients: number;
  entities: number;
  connected: number;
  failed: number;
  failures: Record<string, number>;
  connectMs: number;
  connectsPerSec: number;
  allSnapshotsMs: number;
  snapshots: number;
  snapshotParts: number;
  completeSnapshots: boolean;
  snapshotItems: number;
  seqGaps: number;
  seqDups: number;
  liveEvents: number;
  redisCommands: Record<string, number>;
  /** Redis commands per connect as Redis counts them: including the commands a Lua script runs. */
  redisCommandsPerConnect: number;
  /** The gateway's own timed Redis calls (key lookups, limiter acquires, snapshot and history reads) per connect. */
  gatewayRedisCallsPerConnect: number;
  snapshotReads: number;
  /** Versions the aircraft state passed through during the storm (live events received by the gateway). */
  snapshotVersions: number;
  serverCpuS: number;
  serverRssMb: number;
}

async function metric(adminPort: number, name: string): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
    const text = await res.text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  } catch {
    return Number.NaN;
  }
}

/** Count of the gateway's timed Redis calls (one histogram series per operation). */
const REDIS_CALLS_METRIC = 'hydra_redis_command_duration_seconds_count';

/**
 * Scenario 4 (Hydra only: the peers have no snapshots): `clients` connect at
 * once (as fast as the listen backlog allows) while an `entities`-entity
 * aircraft scope is live and updating.
 */
export async function connectStorm(
  ctx: Ctx,
  round: number,
  o: { clients: number; entities: number; updatesPerSec: number; timeoutMs: number },
): Promise<StormResult> {
  // The gateway's default pings: at the bench's 5 s, clients whose (single, saturated) core is still parsing
  // megabytes of snapshots answer late and are dropped as dead peers, which measures the load generator.
  // Entities outlive the storm: the live updates refresh only some of them, and a mass expiry
  // mid-storm would measure removal fan-out instead of the connects.
  const retention = `aircraft:ttl=${o.timeoutMs + 60_000}`;
  const t = await start(ctx, 'hydra', DEFAULT_PING_MS, retention);
  const bp = createBackplane({ kind: 'redis', url: ctx.redis.url, retention: parseRetention(retention) });
  try {
    // Seed: every entity once (ids e0..e{n-1}, the same ids the live updates cycle through).
    for (let i = 0; i < o.entities; i += 500) {
      const batch = [];
      for (let k = i; k < Math.min(o.entities, i + 500); k++) {
        batch.push({ scope: 'aircraft' as Scope, data: { ...makePayload(`e${k}`, 1, 0, PAYLOAD_BYTES) } });
      }
      await bp.bus.publish(batch);
    }
    const keys = await hydraKeys(ctx.redis.url, [[1]]);
    const paths = clientPaths(t, [[1]], SCOPE_NAMES, keys, true);
    const reads0 = await metric(t.adminPort, 'hydra_snapshot_reads_total');
    const calls0 = await metric(t.adminPort, REDIS_CALLS_METRIC);
    const versions0 = await metric(t.adminPort, 'hydra_bus_events_received_total');
    const cpu0 = cpuSeconds(t.pid);
    const live = ctx.publisher.run({
      target: 'hydra',
      redisUrl: ctx.redis.url,
      rate: o.updatesPerSec,
      scopes: [1],
      scopeNames: [...SCOPE_NAMES],
      durationMs: o.timeoutMs,
      payloadBytes: PAYLOAD_BYTES,
      entities: o.entities,
      retention,
    });
    // The live feed's own Redis commands per second, measured before any client connects.
    await sleep(300);
    const base0 = await ctx.redis.commandStats();
    const b0 = performance.now();
    await sleep(1000);
    const base1 = await ctx.redis.commandStats();
    const feedSeconds = (performance.now() - b0) / 1000;
    const cmd0 = await ctx.redis.commandStats();
    const t0 = performance.now();
    const c = await ctx.workers.connect(o.clients, {
      protocol: 'hydra',
      port: t.port,
      perIp: 10,
      rampPerSec: 1_000_000,
      maxInflight: Math.ceil(400 / ctx.workers.size),
      paths,
      subs: [[1]],
      scopeNames: [...SCOPE_NAMES],
      timeoutMs: o.timeoutMs,
    });
    ctx.progress(
      `  storm: ${c.open}/${o.clients} upgraded in ${(c.ms / 1000).toFixed(1)} s (${Math.round(c.open / (c.ms / 1000))}/s)`,
    );
    let st = await ctx.workers.stats();
    const by = t0 + o.timeoutMs;
    while (st.snapshots < c.open && performance.now() < by) {
      await sleep(250);
      st = await ctx.workers.stats();
    }
    const cmd1 = await ctx.redis.commandStats();
    const stormSeconds = (performance.now() - t0) / 1000;
    const reads1 = await metric(t.adminPort, 'hydra_snapshot_reads_total');
    const calls1 = await metric(t.adminPort, REDIS_CALLS_METRIC);
    const versions1 = await metric(t.adminPort, 'hydra_bus_events_received_total');
    const cpu1 = cpuSeconds(t.pid);
    const rss = rssBytes(t.pid);
    // Let the live updates run past the snapshots, then check seq continuity.
    await sleep(1000);
    const after = await ctx.workers.stats();
    // Commands issued for the connects: the storm's commands minus the live feed's
    // (its baseline rate times the storm's duration) and our own INFO calls.
    const redisCommands: Record<string, number> = {};
    for (const [k, v] of Object.entries(cmd1)) {
      if (k === 'info') continue;
      const feedRate = ((base1[k] ?? 0) - (base0[k] ?? 0)) / feedSeconds;
      const d = Math.round(v - (cmd0[k] ?? 0) - feedRate * stormSeconds);
      if (d > 0) redisCommands[k] = d;
    }
    const connectCommands = Object.values(redisCommands).reduce((a, b) => a + b, 0);
    const res: StormResult = {
      round,
      clients: o.clients,
      entities: o.entities,
      connected: c.open,
      failed: c.failed,
      failures: c.failures,
      connectMs: c.ms,
      connectsPerSec: c.open / (c.ms / 1000),
      allSnapshotsMs: st.lastSnapshotMs,
      snapshots: st.snapshots,
      snapshotParts: st.snapshotParts,
      completeSnapshots: st.snapshots === c.open && st.snapshotItems === c.open * o.entities,
      snapshotItems: st.snapshotItems,
      seqGaps: after.seqGaps,
      seqDups: after.seqDups,
      liveEvents: after.messages,
      redisCommands,
      redisCommandsPerConnect: connectCommands / Math.max(1, c.open),
      gatewayRedisCallsPerConnect: (calls1 - calls0) / Math.max(1, c.open),
      snapshotReads: reads1 - reads0,
      snapshotVersions: versions1 - versions0,
      serverCpuS: cpu1 - cpu0,
      serverRssMb: rss / 2 ** 20,
    };
    ctx.progress(
      `  storm: ${st.snapshots}/${c.open} snapshots (${res.completeSnapshots ? 'all complete' : 'INCOMPLETE'}) ` +
        `after ${(st.lastSnapshotMs / 1000).toFixed(1)} s; ${res.snapshotReads} snapshot reads; ` +
        `${res.redisCommandsPerConnect.toFixed(2)} Redis commands/connect (${res.gatewayRedisCallsPerConnect.toFixed(2)} gateway calls); seq gaps ${res.seqGaps}, dups ${res.seqDups}`,
    );
    await ctx.workers.closeClients();
    ctx.publisher.finish();
    await live.catch(() => undefined);
    return res;
  } finally {
    ctx.publisher.finish();
    await ctx.workers.closeClients().catch(() => undefined);
    await bp.close();
    await t.stop();
  }
}

/** Scenario 5: 1% of clients stop reading during a steady fan-out of larger messages. */
export async function slowConsumers(
  ctx: Ctx,
  kind: TargetKind,
  instance: string,
  round: number,
  o: { clients: number; eventsPerSec: number; payloadBytes: number; durationMs: number },
): Promise<LoadPoint & { rssStartMb: number }> {
  const t = await start(ctx, kind);
  try {
    const c = await connectClients(ctx, t, o.clients, [[0]]);
    const rssStart = rssBytes(t.pid);
    const p = await measure(ctx, t, {
      instance,
      round,
      clients: c.open,
      subs: [[0]],
      scopes: [0],
      eventsPerSec: o.eventsPerSec,
      durationMs: o.durationMs,
      payloadBytes: o.payloadBytes,
      onStarted: async () => {
        await sleep(1000);
        await ctx.workers.all({ cmd: 'pause', fraction: 0.01 });
      },
    });
    ctx.progress(
      `  ${fmtPoint(p)}; slow clients closed by server: ${p.pausedClosed}; RSS ${(rssStart / 2 ** 20).toFixed(0)} → ${p.serverRssMb.toFixed(0)} MB`,
    );
    return { ...p, rssStartMb: rssStart / 2 ** 20 };
  } finally {
    await ctx.workers.closeClients();
    await t.stop();
  }
}

export interface ScaleOut extends LoadPoint {
  gateways: number;
  totalServerCpuPct: number;
}

/** Scenario 6: 1..n Hydra gateways on one Redis, clients spread over them, all on the server core. */
export async function scaleOut(
  ctx: Ctx,
  gateways: number,
  round: number,
  o: { clients: number; offered: number; durationMs: number },
): Promise<ScaleOut> {
  const ts: RunningTarget[] = [];
  try {
    for (let i = 0; i < gateways; i++) ts.push(await start(ctx, 'hydra'));
    const per = Math.floor(o.clients / gateways);
    const keys = await hydraKeys(ctx.redis.url, [[0]]);
    for (const t of ts) {
      await ctx.workers.connect(per, {
        protocol: 'hydra',
        port: t.port,
        perIp: 10,
        rampPerSec: 1000,
        maxInflight: 100,
        paths: clientPaths(t, [[0]], SCOPE_NAMES, keys, false),
        subs: [[0]],
        scopeNames: [...SCOPE_NAMES],
        timeoutMs: 60_000,
      });
    }
    const clients = per * gateways;
    const first = ts[0] as RunningTarget;
    const cpus0 = ts.map((t) => cpuSeconds(t.pid));
    const t0 = performance.now();
    const p = await measure(ctx, first, {
      instance: `hydra×${gateways}`,
      round,
      clients,
      subs: [[0]],
      scopes: [0],
      eventsPerSec: o.offered / clients,
      durationMs: o.durationMs,
    });
    const wall = (performance.now() - t0) / 1000;
    const total = ts.reduce((a, t, i) => a + (cpuSeconds(t.pid) - (cpus0[i] ?? 0)), 0);
    p.offered = o.offered;
    const r: ScaleOut = { ...p, gateways, totalServerCpuPct: (100 * total) / wall };
    ctx.progress(`  ${fmtPoint(p)} (all gateways: ${r.totalServerCpuPct.toFixed(0)}% cpu)`);
    return r;
  } finally {
    await ctx.workers.closeClients();
    await Promise.all(ts.map((t) => t.stop()));
  }
}
