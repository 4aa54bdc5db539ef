import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBackplane, DEFAULT_RETENTION, redisKeys } from '@hydra/backplane';
import { SCOPES, type Scope } from '@hydra/protocol';
import { Redis } from 'ioredis';
import { LeanClient } from './lean-client.js';
import { type GatewayHandle, REPO_ROOT, type Service, SoakRedis, startGateway, startPublisher } from './procs.js';
import { type FaultRecord, type MemorySample, renderReport, type SoakResult } from './report.js';

/**
 * `pnpm soak --minutes N [--clients N] [--fault-every S] [--out FILE]`
 *
 * Its own Redis (AOF, fsync always), 2 gateways, 1 publisher with the demo
 * feed plus an ingest stream of its own, N lean clients spread over source
 * IPs that track seq continuity and resume across every disconnect. Faults
 * are injected on a schedule; after each one the run waits for recovery
 * (gateways ready, every client connected and caught up). The report is
 * printed and written to docs/soak-<date>.md. Exit code 1 if any event was
 * lost or duplicated, a fault was not survived, or a process crashed.
 */

const INGEST_TOKEN = 'soak-ingest-token';
const FAULTS = [
  'redis-sigkill',
  'redis-client-pause',
  'gateway-sigkill',
  'redis-debug-sleep',
  'gateway-sigterm',
] as const;
type FaultKind = (typeof FAULTS)[number];
const RECOVERY_TIMEOUT_MS = 60_000;
const GATEWAY_ENV = {
  HYDRA_DRAIN_MS: '2000',
  HYDRA_LIMITER_LEASE_MS: '6000',
  HYDRA_MAX_CONNECTIONS_PER_IP: '10',
  HYDRA_PING_INTERVAL_MS: '5000',
};

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

async function main(): Promise<void> {
  const minutes = arg('--minutes', 10);
  const clientCount = Math.floor(arg('--clients', 400));
  const faultEveryMs = arg('--fault-every', minutes >= 3 ? 30 : 12) * 1000;
  const date = new Date().toISOString().slice(0, 10);
  const out = arg('--out', join(REPO_ROOT, 'docs', `soak-${date}.md`));
  const durationMs = minutes * 60_000;
  const errors: string[] = [];

  log(`starting: ${minutes} min, ${clientCount} clients, a fault every ${faultEveryMs / 1000} s`);
  const redis = await SoakRedis.start();
  const backplane = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
  const probe = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  probe.on('error', () => undefined);
  const { key } = await backplane.keys.create({ scopes: [...SCOPES], name: 'soak' });

  const publisher = await startPublisher({
    HYDRA_REDIS_URL: redis.url,
    HYDRA_INGEST_TOKEN: INGEST_TOKEN,
    HYDRA_DEMO_FEED: 'true',
  });
  const gateways: (GatewayHandle | null)[] = [];
  const retired: Service[] = [];
  let gatewayCounter = 0;
  const launchGateway = async () =>
    startGateway(`gateway-${++gatewayCounter}`, { HYDRA_REDIS_URL: redis.url, ...GATEWAY_ENV });
  gateways.push(await launchGateway(), await launchGateway());
  const liveUrls = () => gateways.filter((g): g is GatewayHandle => g !== null).map((g) => g.url);

  // Memory of each gateway instance: first and last sample.
  const memory = new Map<string, MemorySample>();
  const sampleMemory = async () => {
    for (const g of gateways) {
      if (!g) continue;
      try {
        const text = await (await fetch(`http://127.0.0.1:${g.adminPort}/metrics`)).text();
        const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
        const rss = value('hydra_gateway_process_resident_memory_bytes');
        const heap = value('hydra_gateway_nodejs_heap_size_used_bytes');
        const conns = value('hydra_connections');
        const entry = memory.get(g.service.name);
        const sample = { rss, heap, connections: conns, at: Date.now() };
        if (!entry) memory.set(g.service.name, { name: g.service.name, first: sample, last: sample, maxRss: rss });
        else {
          entry.last = sample;
          entry.maxRss = Math.max(entry.maxRss, rss);
        }
      } catch {
        // a gateway being restarted
      }
    }
  };

  // Clients: 5 per source IP (half the per-IP limit, so a dead replica's leased slots never block the resume).
  const clients: LeanClient[] = [];
  for (let i = 0; i < clientCount; i++) {
    const ipIndex = Math.floor(i / 5);
    const ip = `127.0.${80 + Math.floor(ipIndex / 250)}.${(ipIndex % 250) + 1}`;
    clients.push(new LeanClient({ urls: liveUrls, key, localAddress: ip, startAt: i }).start());
    if (i % 100 === 99) await sleep(100);
  }
  const allConnected = () => clients.every((c) => c.connected && SCOPES.every((s) => c.last.has(s)));
  if (!(await pollUntil(allConnected, 60_000))) errors.push('not every client connected at start');
  log(`${clients.filter((c) => c.connected).length} clients connected`);
  await sampleMemory();

  // The soak's own upstream feed, next to the demo feed: ingest batches over HTTP.
  const ingest = { ok: 0, events: 0, unavailable: 0, other: 0, otherStatuses: {} as Record<string, number> };
  let feeding = true;
  const feed = (async () => {
    for (let i = 0; feeding; i++) {
      const batch = [
        { scope: 'signals', data: { soak: i } },
        { scope: 'alerts', data: { soak: i, severity: 'Minor' } },
        { scope: 'cyber', data: { soak: i } },
        { scope: 'vessels', data: { id: `soak-${i % 50}`, lat: 50 + (i % 10) / 10, lon: 1 } },
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
      await sleep(100);
    }
  })();

  const currentSeqs = async (): Promise<Map<Scope, number>> => {
    const values = await probe.mget(...SCOPES.map((s) => redisKeys.scopeSeq(s)));
    return new Map(SCOPES.map((s, i) => [s, Number(values[i] ?? 0)]));
  };
  const ready = async (g: GatewayHandle) =>
    (await fetch(`http://127.0.0.1:${g.adminPort}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;

  /** Gateways ready, every client connected and caught up with the seqs of this moment. */
  const recovered = async (): Promise<boolean> => {
    for (const g of gateways) if (!g || !(await ready(g))) return false;
    if (!clients.every((c) => c.connected)) return false;
    const seqs = await currentSeqs();
    return clients.every((c) => SCOPES.every((s) => (c.last.get(s) ?? -1) >= (seqs.get(s) ?? 0)));
  };

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
      case 'gateway-sigkill':
      case 'gateway-sigterm': {
        // The first gateway lives through the whole run (its memory start → end is the leak check); the second is the victim.
        const index = 1;
        const victim = gateways[index] as GatewayHandle;
        gateways[index] = null;
        const held = clients.filter((c) => c.connected).length;
        victim.service.kill(kind === 'gateway-sigkill' ? 'SIGKILL' : 'SIGTERM');
        const code = await victim.service.exited;
        retired.push(victim.service);
        if (kind === 'gateway-sigterm' && code !== 0) errors.push(`${victim.service.name} drained with exit ${code}`);
        await sleep(1000);
        gateways[index] = await launchGateway();
        // Rebalance: half of the clients (now all on the first gateway) leave and resume on the new one,
        // so every gateway fault hits a loaded gateway.
        const fresh = gateways[index] as GatewayHandle;
        clients.forEach((c, i) => {
          if (i % 2 === 0) c.reconnect(fresh.url);
        });
        return `${victim.service.name} ${kind === 'gateway-sigkill' ? 'SIGKILL' : 'SIGTERM (drain)'} (exit ${code}, ${held} clients connected cluster-wide), replaced by gateway-${gatewayCounter}`;
      }
    }
  };

  const faults: FaultRecord[] = [];
  const startedAt = Date.now();
  const memTimer = setInterval(() => void sampleMemory(), 10_000);
  let connectedMin = Number.POSITIVE_INFINITY;
  const heldTimer = setInterval(() => {
    connectedMin = Math.min(connectedMin, clients.filter((c) => c.connected).length);
  }, 1000);
  for (let n = 0; Date.now() - startedAt < durationMs - faultEveryMs / 2; n++) {
    const wait = startedAt + (n + 1) * faultEveryMs - Date.now();
    if (wait > 0) await sleep(Math.min(wait, Math.max(0, startedAt + durationMs - Date.now())));
    if (Date.now() - startedAt >= durationMs) break;
    const kind = FAULTS[n % FAULTS.length] as FaultKind;
    const injectedAt = Date.now();
    let what = kind as string;
    try {
      what = await inject(kind);
    } catch (err) {
      errors.push(`fault ${kind} could not be injected: ${(err as Error).message}`);
    }
    const survived = await pollUntil(recovered, RECOVERY_TIMEOUT_MS, 100);
    const recoveryMs = Date.now() - injectedAt;
    faults.push({ kind, what, at: injectedAt - startedAt, recoveryMs, survived });
    log(`${what}: ${survived ? `recovered in ${recoveryMs} ms` : 'NOT recovered'}`);
    if (!survived) errors.push(`not recovered within ${RECOVERY_TIMEOUT_MS} ms after ${what}`);
  }
  clearInterval(heldTimer);
  clearInterval(memTimer);
  await sampleMemory();

  // Stop publishing, then every client must reach the final seq of every scope.
  feeding = false;
  await feed;
  publisher.service.kill('SIGTERM');
  const publisherExit = await publisher.service.exited;
  if (publisherExit !== 0) errors.push(`publisher exited ${publisherExit} on SIGTERM`);
  const finalSeqs = await currentSeqs();
  const caughtUp = await pollUntil(
    () => clients.every((c) => SCOPES.every((s) => c.last.get(s) === finalSeqs.get(s))),
    30_000,
  );
  if (!caughtUp) errors.push('not every client reached the final seq of every scope');
  const endedAt = Date.now();
  const connectedAtEnd = clients.filter((c) => c.connected).length;

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
  const perClient = clients.map((c) => {
    let delivered = 0;
    let owed = 0;
    for (const s of SCOPES) {
      const first = c.first.get(s) ?? 0;
      owed += (finalSeqs.get(s) ?? 0) - first;
      delivered += (c.last.get(s) ?? first) - first;
    }
    return { delivered, owed, lost: owed - delivered + c.gaps, duplicates: c.duplicates, resyncs: c.resyncs };
  });
  for (const c of clients) for (const p of c.problems.slice(0, 3)) errors.push(`client ${c.resumeParam()}: ${p}`);

  const result: SoakResult = {
    date,
    minutes,
    durationMs: endedAt - startedAt,
    clients: clientCount,
    sourceIps: Math.ceil(clientCount / 5),
    connectedMin: Number.isFinite(connectedMin) ? connectedMin : 0,
    connectedAtEnd,
    connects: clients.reduce((n, c) => n + c.connects, 0),
    refusals: sumMaps(clients.map((c) => c.refusals)),
    closes: sumMaps(clients.map((c) => c.closes)),
    published: finalSeqs,
    ingest,
    perClient,
    eventsReceived: clients.reduce((n, c) => n + c.events, 0),
    faults,
    expectedErrorLogs,
    recoveryLog: [...retired, ...gateways.map((g) => g?.service)].flatMap((svc) =>
      svc ? svc.notable.map((l) => `${svc.name}: ${l}`) : [],
    ),
    memory: [...memory.values()],
    errors,
  };
  const report = renderReport(result);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, report);
  console.log(`\n${report}`);
  log(`report written to ${out}`);

  await Promise.all(clients.map((c) => c.stop()));
  await Promise.all(gateways.map((g) => g?.service.stop()));
  await backplane.close();
  probe.disconnect();
  await redis.stop();
  const failed =
    errors.length > 0 ||
    perClient.some((p) => p.lost !== 0 || p.duplicates !== 0) ||
    report.includes('**Verdict: FAIL**') ||
    faults.some((f) => !f.survived);
  process.exit(failed ? 1 : 0);
}

function sumMaps(maps: Map<number, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of m) out[k] = (out[k] ?? 0) + v;
  return out;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
