import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createBackplane, DEFAULT_RETENTION, redisKeys } from '@hydra/backplane';
import { SCOPES, type Scope } from '@hydra/protocol';
import { Redis } from 'ioredis';
import { ClientPool, type PoolStatus } from './client-pool.js';
import type { ClientSpec } from './client-protocol.js';
import type { GatewaySample } from './memory-trend.js';
import {
  type GatewayHandle,
  REPO_ROOT,
  type Service,
  SoakRedis,
  startGateway,
  startPublisher,
  stopChildrenOnSignal,
} from './procs.js';
import { redisFootprint } from './redis-footprint.js';
import { type CpuSample, type FaultRecord, renderReport, type SoakResult } from './report.js';

/**
 * `pnpm soak --minutes N [--clients N] [--fault-every S] [--faults a,b] [--rate N] [--demo-feed]
 *  [--client-procs N] [--warmup M] [--out FILE]`
 *
 * Its own Redis (AOF, fsync always), 3 gateways (the first is never faulted:
 * its memory over the whole run is the leak check), 1 publisher carrying the
 * soak's own ingest feed on every scope (and the demo feed with --demo-feed),
 * N resuming clients spread over source IPs and over worker processes, each
 * checking seq continuity and resuming across every disconnect. Faults are
 * injected on a schedule, in turn; after each one the run waits for recovery
 * (gateways ready, every client connected and caught up). At the end the
 * clients leave and Redis must hold no limiter slot and be back to its
 * baseline memory. The report is printed and written to docs/soak-<date>.md.
 * Exit code 1 if any event was lost or duplicated, a fault was not survived,
 * a process crashed, or Redis kept what the clients held.
 */

const INGEST_TOKEN = 'soak-ingest-token';
/** The issue's cycle: Redis crash, Redis stall, gateway crash, rolling deploy. */
const DEFAULT_FAULTS = ['redis-sigkill', 'redis-client-pause', 'gateway-sigkill', 'rolling-drain'] as const;
const FAULTS = [...DEFAULT_FAULTS, 'redis-debug-sleep'] as const;
type FaultKind = (typeof FAULTS)[number];
const RECOVERY_TIMEOUT_MS = 60_000;
/** Gateway slot 0 is the long-lived one; slots 1… are replaced by gateway faults. */
const GATEWAYS = 3;
const LEASE_MS = 6000;
const GATEWAY_ENV = {
  HYDRA_DRAIN_MS: '2000',
  HYDRA_LIMITER_LEASE_MS: String(LEASE_MS),
  HYDRA_MAX_CONNECTIONS_PER_IP: '10',
  // The production default. Shorter (5 s was tried) drops clients as dead peers whenever a loaded host
  // starves their event loop for two intervals, and the run then measures the host, not the gateway.
  HYDRA_PING_INTERVAL_MS: '15000',
};
/** Half the per-IP limit: a dead replica's leased slots never block the resume of that IP's clients. */
const CLIENTS_PER_IP = 5;
/** Clients per worker process, at most: far below the 20,000 descriptors a process may hold. */
const CLIENTS_PER_PROCESS = 1000;
const SAMPLE_EVERY_MS = 10_000;

function arg(name: string, fallback: number): number;
function arg(name: string, fallback: string): string;
function arg(name: string, fallback: number | string): number | string {
  const i = process.argv.indexOf(name);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  if (raw === undefined) return fallback;
  if (typeof fallback === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got ${raw}`);
    return n;
  }
  return raw;
}

function faultList(text: string): FaultKind[] {
  const kinds = text.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(FAULTS as readonly string[]).includes(k))
      throw new Error(`--faults: unknown ${k} (known: ${FAULTS.join(', ')})`);
  }
  return kinds as FaultKind[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (msg: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function pollUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      if (await check()) return true;
    } catch {
      // not yet
    }
    await sleep(everyMs);
  }
  return false;
}

/** 127.0.80.1 … 127.0.80.250, 127.0.81.1 …: CLIENTS_PER_IP clients each. */
function clientSpecs(count: number): ClientSpec[] {
  return Array.from({ length: count }, (_, index) => {
    const ip = Math.floor(index / CLIENTS_PER_IP);
    return { index, localAddress: `127.0.${80 + Math.floor(ip / 250)}.${(ip % 250) + 1}` };
  });
}

async function main(): Promise<void> {
  stopChildrenOnSignal();
  const minutes = arg('--minutes', 10);
  const clientCount = Math.floor(arg('--clients', 400));
  const faultEveryMs = arg('--fault-every', minutes >= 3 ? 30 : 12) * 1000;
  const faultKinds = faultList(arg('--faults', DEFAULT_FAULTS.join(',')));
  const rate = arg('--rate', 50);
  const demoFeed = process.argv.includes('--demo-feed');
  const clientProcs = Math.floor(arg('--client-procs', Math.max(1, Math.ceil(clientCount / CLIENTS_PER_PROCESS))));
  const warmupMs = arg('--warmup', Math.min(10, minutes / 4)) * 60_000;
  const date = new Date().toISOString().slice(0, 10);
  const out = arg('--out', join(REPO_ROOT, 'docs', `soak-${date}.md`));
  const durationMs = minutes * 60_000;
  const errors: string[] = [];
  const wallStart = Date.now();

  log(
    `starting: ${minutes} min, ${clientCount} clients in ${clientProcs} process(es), a fault every ` +
      `${faultEveryMs / 1000} s (${faultKinds.join(', ')}), feed ${rate} events/s${demoFeed ? ' + demo feed' : ''}`,
  );
  const redis = await SoakRedis.start();
  const backplane = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
  const probe = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  probe.on('error', () => undefined);
  const { key } = await backplane.keys.create({ scopes: [...SCOPES], name: 'soak' });

  const publisher = await startPublisher({
    HYDRA_REDIS_URL: redis.url,
    HYDRA_INGEST_TOKEN: INGEST_TOKEN,
    HYDRA_DEMO_FEED: String(demoFeed),
  });
  const gateways: (GatewayHandle | null)[] = [];
  const retired: Service[] = [];
  let gatewayCounter = 0;
  const launchGateway = async () =>
    startGateway(`gateway-${++gatewayCounter}`, { HYDRA_REDIS_URL: redis.url, ...GATEWAY_ENV });
  for (let i = 0; i < GATEWAYS; i++) gateways.push(await launchGateway());
  const anchor = gateways[0] as GatewayHandle;
  const liveUrls = () => gateways.filter((g): g is GatewayHandle => g !== null).map((g) => g.url);
  const redisBaseline = await redisFootprint(probe);

  // The clock of the report: faults, samples and warm-up count from here (negative: before the faults began).
  let startedAt = Date.now();
  const memory = new Map<string, GatewaySample[]>();
  const sampleGateways = async () => {
    for (const g of gateways) {
      if (!g) continue;
      try {
        const text = await (await fetch(`http://127.0.0.1:${g.adminPort}/metrics`)).text();
        const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
        const sample: GatewaySample = {
          at: Date.now() - startedAt,
          rss: value('hydra_gateway_process_resident_memory_bytes'),
          heap: value('hydra_gateway_nodejs_heap_size_used_bytes'),
          connections: value('hydra_connections'),
          cpuSeconds: value('hydra_gateway_process_cpu_seconds_total'),
        };
        memory.set(g.service.name, [...(memory.get(g.service.name) ?? []), sample]);
      } catch {
        // a gateway being restarted
      }
    }
  };

  const pool = await ClientPool.start({
    clients: clientSpecs(clientCount),
    processes: clientProcs,
    key,
    urls: liveUrls(),
  });
  const everyScope = (s: PoolStatus, atLeast: (scope: Scope) => number) =>
    SCOPES.every((scope) => (s.minLast[scope] ?? -1) >= atLeast(scope));
  const allConnected = async () => {
    const s = await pool.status();
    return s.connected === s.total && everyScope(s, () => 0);
  };
  if (!(await pollUntil(allConnected, 60_000))) errors.push('not every client connected at start');
  log(`${(await pool.status()).connected} clients connected`);

  // The soak's own upstream feed: ingest batches over HTTP, one event per scope each. Aircraft ids rotate every
  // minute, so the ones left behind expire (ttl 60 s) and their removals are events too.
  const ingest = { ok: 0, events: 0, unavailable: 0, other: 0, otherStatuses: {} as Record<string, number> };
  const batchEveryMs = (1000 * SCOPES.length) / rate;
  let feeding = true;
  const feed = (async () => {
    for (let i = 0; feeding; i++) {
      const next = performance.now() + batchEveryMs;
      const minute = Math.floor(Date.now() / 60_000);
      const batch = [
        { scope: 'signals', data: { soak: i } },
        { scope: 'alerts', data: { soak: i, severity: 'Minor' } },
        { scope: 'cyber', data: { soak: i } },
        { scope: 'vessels', data: { id: `soak-${i % 50}`, lat: 50 + (i % 10) / 10, lon: 1 } },
        { scope: 'aircraft', data: { id: `soak-${minute}-${i % 20}`, lat: 51 + (i % 10) / 10, lon: 0 } },
      ];
      try {
        const res = await fetch(publisher.ingestUrl, {
          method: 'POST',
          headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(batch),
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status === 200) {
          ingest.ok++;
          ingest.events += batch.length;
        } else if (res.status === 503) ingest.unavailable++;
        else {
          ingest.other++;
          ingest.otherStatuses[res.status] = (ingest.otherStatuses[res.status] ?? 0) + 1;
        }
      } catch (err) {
        ingest.other++;
        const name = (err as Error).name;
        ingest.otherStatuses[name] = (ingest.otherStatuses[name] ?? 0) + 1;
      }
      await sleep(Math.max(0, next - performance.now()));
    }
  })();

  const currentSeqs = async (): Promise<Map<Scope, number>> => {
    const values = await probe.mget(...SCOPES.map((s) => redisKeys.scopeSeq(s)));
    return new Map(SCOPES.map((s, i) => [s, Number(values[i] ?? 0)]));
  };
  const ready = async (g: GatewayHandle) =>
    (await fetch(`http://127.0.0.1:${g.adminPort}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;

  /**
   * Waits until every gateway is ready and every client connected, then until every client has every event
   * published up to that moment (a fixed target: with events flowing, some client is always a few ms behind
   * the newest one). False if that takes longer than `timeoutMs`.
   */
  const recover = async (timeoutMs: number): Promise<boolean> => {
    let target: Map<Scope, number> | null = null;
    return pollUntil(
      async () => {
        for (const g of gateways) if (!g || !(await ready(g))) return false;
        const s = await pool.status();
        if (target === null) {
          if (s.connected !== s.total) return false;
          target = await currentSeqs();
        }
        const seqs = target;
        return everyScope(s, (scope) => seqs.get(scope) ?? 0);
      },
      timeoutMs,
      100,
    );
  };

  /** Stops the gateway of `slot` with `signal` and starts its replacement, which takes back a share of the clients. */
  const replaceGateway = async (slot: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<string> => {
    const victim = gateways[slot] as GatewayHandle;
    gateways[slot] = null;
    await pool.setUrls(liveUrls());
    const held = (await pool.status()).connected;
    victim.service.kill(signal);
    const code = await victim.service.exited;
    retired.push(victim.service);
    if (signal === 'SIGTERM' && code !== 0) errors.push(`${victim.service.name} drained with exit ${code}`);
    const fresh = await launchGateway();
    gateways[slot] = fresh;
    await pool.setUrls(liveUrls());
    await pollUntil(() => ready(fresh), 10_000);
    // Rebalance: the clients of this slot (now on the others) resume on the fresh gateway, so every
    // gateway fault hits a loaded gateway and the long-lived one also serves resumes.
    await pool.reconnect(GATEWAYS, slot, fresh.url);
    return `${victim.service.name} ${signal} (exit ${code}, ${held} clients connected), replaced by ${fresh.service.name}`;
  };

  let nextVictim = 1;
  const inject = async (kind: FaultKind): Promise<string> => {
    switch (kind) {
      case 'redis-sigkill': {
        await redis.kill('SIGKILL');
        await sleep(2000);
        await redis.launch();
        return 'Redis SIGKILL, down 2 s, restarted with its AOF';
      }
      case 'redis-client-pause':
        await probe.call('CLIENT', 'PAUSE', '3000', 'ALL');
        return 'CLIENT PAUSE 3000 ALL';
      case 'redis-debug-sleep':
        await probe.call('DEBUG', 'SLEEP', '2');
        return 'DEBUG SLEEP 2';
      case 'gateway-sigkill': {
        const slot = nextVictim;
        nextVictim = (nextVictim % (GATEWAYS - 1)) + 1;
        return replaceGateway(slot, 'SIGKILL');
      }
      case 'rolling-drain': {
        // A rolling deploy: each replaceable gateway drained in turn, the next only once the cluster has recovered.
        const steps: string[] = [];
        for (let slot = 1; slot < GATEWAYS; slot++) {
          steps.push(await replaceGateway(slot, 'SIGTERM'));
          if (slot < GATEWAYS - 1) await recover(RECOVERY_TIMEOUT_MS);
        }
        return `rolling drain: ${steps.join('; ')}`;
      }
    }
  };

  // CPU of the soak itself (orchestrator + client workers) and of the long-lived gateway, per sampling interval.
  const cpu: CpuSample[] = [];
  let lastCpu = { at: performance.now(), self: process.cpuUsage(), workers: [] as number[] };
  const sampleCpu = async () => {
    const s = await pool.status(true);
    const now = { at: performance.now(), self: process.cpuUsage(), workers: s.workers.map((w) => w.cpuMicros) };
    const spanMicros = (now.at - lastCpu.at) * 1000;
    if (lastCpu.workers.length > 0) {
      cpu.push({
        at: Date.now() - startedAt,
        orchestratorPct:
          (100 * (now.self.user + now.self.system - lastCpu.self.user - lastCpu.self.system)) / spanMicros,
        workerPct: now.workers.map((w, i) => (100 * (w - (lastCpu.workers[i] ?? 0))) / spanMicros),
        workerLoopP99Ms: s.workers.map((w) => w.loopDelayP99Ms),
        workerLoopMaxMs: s.workers.map((w) => w.loopDelayMaxMs),
        load1: loadavg()[0] ?? Number.NaN,
      });
    }
    lastCpu = now;
  };

  const faults: FaultRecord[] = [];
  startedAt = Date.now();
  await sampleGateways();
  await sampleCpu();
  const sampleTimer = setInterval(() => {
    void sampleGateways();
    void sampleCpu().catch(() => undefined);
  }, SAMPLE_EVERY_MS);
  let connectedMin = Number.POSITIVE_INFINITY;
  const heldTimer = setInterval(() => {
    void pool.status().then(
      (s) => {
        connectedMin = Math.min(connectedMin, s.connected);
      },
      () => undefined,
    );
  }, 1000);
  for (let n = 0; Date.now() - startedAt < durationMs - faultEveryMs / 2; n++) {
    const wait = startedAt + (n + 1) * faultEveryMs - Date.now();
    if (wait > 0) await sleep(Math.min(wait, Math.max(0, startedAt + durationMs - Date.now())));
    if (Date.now() - startedAt >= durationMs) break;
    const kind = faultKinds[n % faultKinds.length] as FaultKind;
    const injectedAt = Date.now();
    let what = kind as string;
    try {
      what = await inject(kind);
    } catch (err) {
      errors.push(`fault ${kind} could not be injected: ${(err as Error).message}`);
    }
    const survived = await recover(RECOVERY_TIMEOUT_MS);
    const recoveryMs = Date.now() - injectedAt;
    faults.push({ kind, what, at: injectedAt - startedAt, recoveryMs, survived });
    log(`${what}: ${survived ? `recovered in ${recoveryMs} ms` : 'NOT recovered'}`);
    if (!survived) errors.push(`not recovered within ${RECOVERY_TIMEOUT_MS} ms after ${what}`);
  }
  clearInterval(heldTimer);
  clearInterval(sampleTimer);
  await sampleGateways();
  await sampleCpu();

  // Stop publishing, then every client must reach the final seq of every scope.
  feeding = false;
  await feed;
  publisher.service.kill('SIGTERM');
  const publisherExit = await publisher.service.exited;
  if (publisherExit !== 0) errors.push(`publisher exited ${publisherExit} on SIGTERM`);
  const finalSeqs = await currentSeqs();
  const caughtUp = await pollUntil(async () => {
    const s = await pool.status();
    return SCOPES.every(
      (scope) => s.minLast[scope] === finalSeqs.get(scope) && s.maxLast[scope] === finalSeqs.get(scope),
    );
  }, 30_000);
  if (!caughtUp) errors.push('not every client reached the final seq of every scope');
  const endedAt = Date.now();
  const connectedAtEnd = (await pool.status()).connected;
  const clientResults = await pool.results(Object.fromEntries(finalSeqs));
  const clientCpuMicros = (await pool.status()).workers.reduce((n, w) => n + w.cpuMicros, 0);

  // The clients leave: Redis must give back every slot they held, and the memory with them.
  const redisWithClients = await redisFootprint(probe);
  await pool.stop();
  const leftAt = performance.now();
  const released = await pollUntil(
    async () => {
      const f = await redisFootprint(probe);
      return f.heldSlots === 0 && f.limiterKeys === redisBaseline.limiterKeys;
    },
    LEASE_MS + 10_000,
    250,
  );
  const releasedAfterMs = Math.round(performance.now() - leftAt);
  const redisAfter = await redisFootprint(probe);
  if (!released) {
    errors.push(
      `Redis kept limiter state after the clients left: ${redisAfter.limiterKeys} keys, ${redisAfter.heldSlots} slots`,
    );
  }

  for (const g of gateways) {
    if (!g) continue;
    if (g.service.child.exitCode !== null) errors.push(`${g.service.name} crashed: ${g.service.stderr.slice(-300)}`);
  }
  // Error-level lines a Redis fault causes by design (the 503 answers) are counted, not failures.
  let expectedErrorLogs = 0;
  for (const s of [...retired, ...gateways.map((g) => g?.service), publisher.service]) {
    if (!s) continue;
    for (const e of s.errors) {
      if (e.startsWith('publish failed: backplane unavailable')) expectedErrorLogs++;
      else errors.push(`${s.name} logged error: ${e}`);
    }
  }
  for (const p of clientResults.problems.slice(0, 50)) errors.push(`client ${p}`);

  const result: SoakResult = {
    date,
    minutes,
    faultEverySeconds: faultEveryMs / 1000,
    durationMs: endedAt - startedAt,
    wallMs: Date.now() - wallStart,
    clients: clientCount,
    clientProcesses: clientProcs,
    cores: availableParallelism(),
    sourceIps: Math.ceil(clientCount / CLIENTS_PER_IP),
    feed: `${rate} events/s of the soak's own ingest (one per scope per batch)${demoFeed ? ' + the demo feed' : ''}`,
    connectedMin: Number.isFinite(connectedMin) ? connectedMin : 0,
    connectedAtEnd,
    connects: clientResults.connects,
    refusals: clientResults.refusals,
    closes: clientResults.closes,
    published: finalSeqs,
    ingest,
    perClient: clientResults.perClient,
    eventsReceived: clientResults.events,
    clientCpuMicros,
    faults,
    expectedErrorLogs,
    recoveryLog: [...retired, ...gateways.map((g) => g?.service)].flatMap((svc) =>
      svc ? svc.notable.map((l) => `${svc.name}: ${l}`) : [],
    ),
    memory: [...memory].map(([name, samples]) => ({ name, samples })),
    anchor: anchor.service.name,
    warmupMs,
    cpu,
    redis: { baseline: redisBaseline, withClients: redisWithClients, after: redisAfter, releasedAfterMs },
    errors,
  };
  const report = renderReport(result);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, report);
  console.log(`\n${report}`);
  log(`report written to ${out}`);

  await Promise.all(gateways.map((g) => g?.service.stop()));
  await backplane.close();
  probe.disconnect();
  await redis.stop();
  process.exit(report.includes('**Verdict: PASS**') ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
