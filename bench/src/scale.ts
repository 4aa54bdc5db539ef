/**
 * `pnpm bench --scale [--gateways N] [--per-gateway N] [--ping-ms MS] [--window-ms MS] [--ramp N]
 *   [--before-dist apps/gateway/dist-before] [--no-uws] [--snapshot]`
 *
 * Idle connections at scale (issue 19): N gateway processes, each holding
 * `--per-gateway` authenticated idle clients (`snapshot=false`, under the
 * 20,000 descriptors a process may hold), from lean client processes
 * (client-worker.ts: raw sockets, one small object per client) spread over
 * loopback source addresses (500 per address, a fresh 127.x.0.0/16 per
 * gateway). Per gateway it reports connections held, RSS per connection,
 * idle CPU per 1,000 connections over a window of at least two ping
 * intervals, connects per second and gateway CPU-ms per connect, drops, and
 * the return to zero (connections, limiter keys) after the clients leave.
 * The same N processes of bare uWS (bench/peers/uws-server.mjs) hold the same
 * clients (the floor); with `--before-dist` another gateway build (e.g. the
 * one before a change, built to that directory) runs too, in the same run.
 *
 * Every loop is bounded in count and time: connects give up after
 * `connectTimeoutMs`, the return to zero after `returnTimeoutMs` (it grows with the clients).
 */
import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { repoDir, resultsDir } from './paths.js';
import { cpuTimes, rssBytes, sleep } from './procs.js';
import type { BenchRedis } from './redis.js';
import { hydraKeys, SCOPE_NAMES, SERVER_CPUS, SIDE_CPUS } from './scenarios.js';
import { clientPaths, type RunningTarget, startTarget } from './targets.js';
import { WorkerPool } from './workers.js';

/** Clients per source address (the gateways' per-IP limit is raised to this). */
const PER_IP = 500;
/** Sockets per client process: well under the 20,000-descriptor limit. */
const PER_WORKER = 12_000;
/** Time for the servers to settle after start and after the connects (setImmediate opens, V8 after the burst). */
const SETTLE_MS = 8_000;
/**
 * How long the return to zero may take once the clients leave: 30 s, plus 0.5 ms per client for the
 * close wave's releases (at 252,000 clients 156 s; a 30 s bound was too short to observe it there).
 */
const returnTimeoutMs = (clients: number) => 30_000 + clients / 2;

export interface ScaleOptions {
  gateways: number;
  perGateway: number;
  pingMs: number;
  windowMs: number;
  /** Upgrade requests per second offered to each gateway. */
  ramp: number;
  beforeDist: string | null;
  uws: boolean;
  /** Hydra clients ask for the snapshot (the default `snapshot=false` measures the bare connect). */
  snapshot: boolean;
}

export interface ScaleRow {
  target: string;
  server: number;
  held: number;
  rssKbPerConn: number;
  idleCpuPctPer1k: number;
  /** The same, less what the process spent idle with no client at all (timers, metrics, GC). */
  netIdleCpuPctPer1k: number;
  connectsPerSec: number;
  cpuMsPerConnect: number;
  drops: number;
  pingsPerClient: number;
  /** ms until connections and limiter keys were 0 after the clients left (NaN: not within returnTimeoutMs). */
  returnMs: number;
  limiterKeysLeft: number;
  /** This gateway's connections when the return bound ran out (0 when it returned). */
  connectionsLeft: number;
}

export function parseScaleArgs(argv: string[]): ScaleOptions {
  const o: ScaleOptions = {
    gateways: 2,
    perGateway: 15_000,
    pingMs: 15_000,
    windowMs: 0,
    ramp: 3000,
    beforeDist: null,
    uws: true,
    snapshot: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const eq = a.indexOf('=');
      return eq >= 0 ? a.slice(eq + 1) : (argv[++i] ?? '');
    };
    if (a === '--scale' || a === '--') continue;
    if (a.startsWith('--gateways')) o.gateways = Math.max(1, Math.min(32, Number(value()) || 2));
    else if (a.startsWith('--per-gateway')) o.perGateway = Math.max(1, Math.min(19_000, Number(value()) || 15_000));
    else if (a.startsWith('--ping-ms')) o.pingMs = Math.max(1000, Number(value()) || 15_000);
    else if (a.startsWith('--window-ms')) o.windowMs = Number(value()) || 0;
    else if (a.startsWith('--ramp')) o.ramp = Math.max(100, Math.min(20_000, Number(value()) || 3000));
    else if (a.startsWith('--before-dist')) o.beforeDist = value();
    else if (a === '--no-uws') o.uws = false;
    else if (a === '--snapshot') o.snapshot = true;
    else throw new Error(`--scale: unknown argument ${a}`);
  }
  // At least two ping intervals, so every client is pinged (and answers) twice inside the window.
  o.windowMs = Math.max(o.windowMs, 2 * o.pingMs + 1000);
  return o;
}

/** A gauge or counter from a gateway's /metrics; NaN when the scrape fails or times out (a busy gateway). */
async function metric(adminPort: number, name: string): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  } catch {
    return Number.NaN;
  }
}

async function limiterKeys(redisUrl: string): Promise<number> {
  const r = new Redis(redisUrl);
  try {
    let cursor = '0';
    let n = 0;
    for (let i = 0; i < 10_000; i++) {
      const [next, keys] = await r.scan(cursor, 'MATCH', 'hydra:ip:*', 'COUNT', 1000);
      n += keys.length;
      cursor = next;
      if (cursor === '0') break;
    }
    return n;
  } finally {
    r.disconnect();
  }
}

const cpuSec = (pid: number) => {
  const t = cpuTimes(pid);
  return t.user + t.sys;
};

/** Runs one kind of server (N processes) through connect, idle window, leave; one row per process. */
async function runOne(
  label: string,
  kind: 'hydra' | 'uws',
  o: ScaleOptions,
  redis: BenchRedis,
  progress: (line: string) => void,
  gatewayMain?: string,
): Promise<ScaleRow[]> {
  const servers: RunningTarget[] = [];
  const pools: WorkerPool[] = [];
  try {
    for (let i = 0; i < o.gateways; i++) {
      servers.push(
        await startTarget(kind, {
          redisUrl: redis.url,
          redisPort: redis.port,
          serverCpus: SERVER_CPUS,
          sideCpus: SIDE_CPUS,
          pingMs: o.pingMs,
          gatewayMain,
          gatewayEnv: { HYDRA_MAX_CONNECTIONS_PER_IP: String(PER_IP) },
        }),
      );
    }
    const workersEach = Math.ceil(o.perGateway / PER_WORKER);
    for (let i = 0; i < o.gateways; i++) pools.push(await WorkerPool.start(workersEach, SIDE_CPUS));
    await sleep(2000);
    const empty0 = servers.map((s) => cpuSec(s.pid));
    const emptyT0 = performance.now();
    await sleep(SETTLE_MS);
    const emptyCpu = servers.map((s, i) => (cpuSec(s.pid) - (empty0[i] ?? 0)) / ((performance.now() - emptyT0) / 1000));
    const baseline = servers.map((s) => rssBytes(s.pid));
    const keys = kind === 'hydra' ? await hydraKeys(redis.url, [[0]]) : [];

    // Connects: one gateway at a time, so its rate and CPU are its own.
    const connects: Array<{ open: number; perSec: number; cpuMs: number }> = [];
    for (const [i, s] of servers.entries()) {
      const pool = pools[i] as WorkerPool;
      const cpu0 = cpuSec(s.pid);
      const r = await pool.connect(o.perGateway, {
        protocol: kind === 'hydra' ? 'hydra' : 'raw',
        port: s.port,
        perIp: PER_IP,
        rampPerSec: Math.ceil(o.ramp / pool.size),
        maxInflight: Math.ceil(400 / pool.size),
        paths: clientPaths(s, [[0]], SCOPE_NAMES, keys, o.snapshot),
        subs: [[0]],
        scopeNames: [...SCOPE_NAMES],
        // Bounded, but not by the offered rate: on a loaded 2-core box connects run far below it (50/s floor).
        timeoutMs: Math.max(120_000, (2 * o.perGateway * 1000) / o.ramp, o.perGateway * 20),
      });
      const cpuMs = (cpuSec(s.pid) - cpu0) * 1000;
      connects.push({ open: r.open, perSec: r.open / (r.ms / 1000), cpuMs: r.open > 0 ? cpuMs / r.open : Number.NaN });
      progress(
        `  ${label} #${i + 1}: ${r.open}/${o.perGateway} open in ${(r.ms / 1000).toFixed(1)} s` +
          (r.failed > 0 ? ` (${r.failed} failed: ${JSON.stringify(r.failures)})` : ''),
      );
    }
    await sleep(SETTLE_MS);
    for (const p of pools) await p.all({ cmd: 'reset' });
    const cpu0 = servers.map((s) => cpuSec(s.pid));
    const t0 = performance.now();
    progress(`  ${label}: idle window ${(o.windowMs / 1000).toFixed(0)} s …`);
    await sleep(o.windowMs);
    const wall = (performance.now() - t0) / 1000;
    const idleCpu = servers.map((s, i) => (cpuSec(s.pid) - (cpu0[i] ?? 0)) / wall);
    const rss = servers.map((s) => rssBytes(s.pid));
    const rows: ScaleRow[] = [];
    for (const [i, s] of servers.entries()) {
      const st = await (pools[i] as WorkerPool).stats();
      const held = kind === 'hydra' ? await metric(s.adminPort, 'hydra_connections') : st.open;
      const c = connects[i] as { open: number; perSec: number; cpuMs: number };
      rows.push({
        target: label,
        server: i + 1,
        held,
        rssKbPerConn: ((rss[i] ?? 0) - (baseline[i] ?? 0)) / 1024 / Math.max(1, held),
        idleCpuPctPer1k: (100 * (idleCpu[i] ?? 0)) / Math.max(1e-9, held / 1000),
        netIdleCpuPctPer1k: (100 * ((idleCpu[i] ?? 0) - (emptyCpu[i] ?? 0))) / Math.max(1e-9, held / 1000),
        connectsPerSec: c.perSec,
        cpuMsPerConnect: c.cpuMs,
        drops: st.closedByServer + (c.open - st.open),
        pingsPerClient: st.open > 0 ? st.pings / st.open : 0,
        returnMs: Number.NaN,
        limiterKeysLeft: 0,
        connectionsLeft: 0,
      });
    }

    // The clients leave: connections and limiter keys go back to zero.
    const left = performance.now();
    for (const p of pools) await p.closeClients(60_000);
    if (kind === 'hydra') {
      const bound = returnTimeoutMs(o.gateways * o.perGateway);
      const deadline = left + bound;
      let keysLeft = Number.NaN;
      let conns: number[] = [];
      while (performance.now() < deadline) {
        conns = await Promise.all(servers.map((s) => metric(s.adminPort, 'hydra_connections')));
        keysLeft = await limiterKeys(redis.url);
        if (conns.every((n) => n === 0) && keysLeft === 0) break;
        await sleep(200);
      }
      const ms = performance.now() - left;
      const returned = keysLeft === 0 && conns.every((n) => n === 0);
      for (const [i, r] of rows.entries()) {
        r.limiterKeysLeft = keysLeft;
        r.connectionsLeft = conns[i] ?? Number.NaN;
        r.returnMs = returned ? ms : Number.NaN;
      }
    } else {
      for (const r of rows) r.returnMs = Number.NaN;
    }
    for (const r of rows) progress(`  ${fmtRow(r)}`);
    return rows;
  } finally {
    for (const p of pools) p.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

function fmtRow(r: ScaleRow): string {
  return (
    `${r.target} #${r.server}: held ${r.held}, ${f(r.rssKbPerConn, 2)} KB/conn, idle ${f(r.idleCpuPctPer1k, 3)}% core/1k (net ${f(r.netIdleCpuPctPer1k, 3)}), ` +
    `${f(r.connectsPerSec, 0)} conn/s, ${f(r.cpuMsPerConnect, 3)} CPU-ms/conn, drops ${r.drops}, ` +
    `pings/client ${f(r.pingsPerClient, 1)}, back to 0 in ${Number.isFinite(r.returnMs) ? `${f(r.returnMs / 1000)} s` : '–'}`
  );
}

export function scaleTable(rows: ScaleRow[]): string {
  const head =
    '| server | # | held | RSS KB/conn | idle CPU % of a core per 1k | the same, net of the empty process | connects/s | CPU-ms per connect | drops | pings per client | connections + limiter keys back to 0 |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|\n';
  return (
    head +
    rows
      .map(
        (r) =>
          `| ${r.target} | ${r.server} | ${r.held} | ${f(r.rssKbPerConn, 2)} | ${f(r.idleCpuPctPer1k, 3)} | ${f(r.netIdleCpuPctPer1k, 3)} | ${f(r.connectsPerSec, 0)} | ${f(r.cpuMsPerConnect, 3)} | ${r.drops} | ${f(r.pingsPerClient, 1)} | ${
            r.target.startsWith('uws')
              ? 'n/a'
              : Number.isFinite(r.returnMs)
                ? `${f(r.returnMs / 1000)} s`
                : `not within the bound (${r.connectionsLeft} connections, ${r.limiterKeysLeft} keys left)`
          } |`,
      )
      .join('\n')
  );
}

export async function runScale(argv: string[], redis: BenchRedis, progress: (line: string) => void): Promise<void> {
  const o = parseScaleArgs(argv);
  progress(
    `scale: ${o.gateways} × ${o.perGateway} idle clients, pings every ${o.pingMs / 1000} s, window ${o.windowMs / 1000} s`,
  );
  const rows: ScaleRow[] = [];
  rows.push(...(await runOne('hydra', 'hydra', o, redis, progress)));
  if (o.beforeDist) {
    const main = `${o.beforeDist.startsWith('/') ? '' : `${repoDir}/`}${o.beforeDist}/main.js`;
    rows.push(...(await runOne('hydra (before)', 'hydra', o, redis, progress, main)));
  }
  if (o.uws) rows.push(...(await runOne('uws (bare)', 'uws', o, redis, progress)));
  const table = scaleTable(rows);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const note =
    `Scale (issue 19): ${o.gateways} processes per server kind, ${o.perGateway} idle clients each (${PER_IP} per source address, ` +
    `${o.snapshot ? 'with the snapshot' : 'snapshot=false'}, one scope), pings every ${o.pingMs / 1000} s (bare uWS: its automatic pings, idleTimeout ${Math.round(o.pingMs / 1000)} s), ` +
    `idle window ${o.windowMs / 1000} s. Servers on core ${SERVER_CPUS}, clients on core ${SIDE_CPUS}. RSS per connection: ` +
    `(RSS after the window − RSS before the connects) / connections held. CPU: /proc/<pid>/stat user + system; ` +
    `"net" subtracts the process's own CPU over ${SETTLE_MS / 1000} s with no client. Connects: one process at a time, ` +
    `offered ${o.ramp}/s; CPU-ms per connect = the server's CPU during its connects / connects.\n`;
  writeFileSync(`${resultsDir}/scale-${stamp}.md`, `${note}\n${table}\n`);
  writeFileSync(`${resultsDir}/scale-${stamp}.json`, `${JSON.stringify({ options: o, rows }, null, 2)}\n`);
  console.log(`\n${note}\n${table}\n\nwritten: bench/results/scale-${stamp}.{md,json}`);
}
