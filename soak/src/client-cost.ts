/**
 * `node soak/dist/client-cost.js [--clients 2000] [--rate 200] [--window-s 20] [--rounds 1]`
 *
 * Can the soak's clients be @hydra/client's HydraClient instead of
 * stream-client's ResumingClient? Measures what one client costs in one
 * process, each kind in turn in a fresh child process against the same
 * gateway and the same traffic (ResumingClient, the soak's today, is the
 * baseline): heap and RSS per client after a full GC once every client has
 * its snapshots, and CPU per event delivered over a window of live traffic.
 *
 * The traffic is shaped like the demo feed: aircraft (300 ids) and vessels
 * (40 ids) upserted, signals, alerts and cyber appended, `--rate` events/s
 * in all. Every wait is bounded; every process started is stopped.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import { HydraClient, type WebSocketConstructor } from '@hydra/client';
import { type IngestEvent, SCOPES, type Scope } from '@hydra/protocol';
import { ResumingClient } from '@hydra/stream-client';
import WebSocket from 'ws';
import { SoakRedis, startGateway } from './procs.js';

type Kind = 'resuming' | 'sdk';

interface ChildResult {
  kind: Kind;
  clients: number;
  connectMs: number;
  heapBytes: number;
  rssBytes: number;
  baseHeapBytes: number;
  baseRssBytes: number;
  cpuMicros: number;
  events: number;
  windowMs: number;
}

const CONNECT_TIMEOUT_MS = 300_000;

// ---------------------------------------------------------------- child side

async function child(kind: Kind, url: string, key: string, clients: number, windowMs: number): Promise<ChildResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  const base = process.memoryUsage();
  const started = Date.now();
  const handles: { connected: () => boolean; events: () => number; stop: () => Promise<void> | void }[] = [];
  for (let i = 0; i < clients; i++) {
    if (kind === 'resuming') {
      const c = new ResumingClient({ urls: () => [url], key, localAddress: '127.0.0.1' }).start();
      handles.push({
        connected: () => c.connected && c.first.size === SCOPES.length,
        events: () => c.events,
        stop: () => c.stop(),
      });
    } else {
      let events = 0;
      let snapshots = 0;
      const c = new HydraClient({
        url,
        apiKey: key,
        headers: {},
        WebSocket: WebSocket as unknown as WebSocketConstructor,
      });
      c.on('event', () => {
        events++;
      });
      c.on('snapshot', () => {
        snapshots++;
      });
      handles.push({ connected: () => snapshots >= SCOPES.length, events: () => events, stop: () => c.close() });
    }
    // A steady ramp: the gateway sees 100 upgrades per 50 ms, not a burst.
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 50));
  }
  for (let tick = 1; !handles.every((h) => h.connected()); tick++) {
    const ready = handles.filter((h) => h.connected()).length;
    if (Date.now() - started > CONNECT_TIMEOUT_MS) {
      throw new Error(`${kind}: ${ready} of ${clients} clients had their snapshots after ${CONNECT_TIMEOUT_MS} ms`);
    }
    if (tick % 100 === 0) console.error(`${kind}: ${ready} of ${clients} clients have their snapshots`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const connectMs = Date.now() - started;
  gc();
  const loaded = process.memoryUsage();
  const events0 = handles.reduce((n, h) => n + h.events(), 0);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = Date.now() - t0;
  const events = handles.reduce((n, h) => n + h.events(), 0) - events0;
  await Promise.all(handles.map((h) => h.stop()));
  return {
    kind,
    clients,
    connectMs,
    heapBytes: loaded.heapUsed,
    rssBytes: loaded.rss,
    baseHeapBytes: base.heapUsed,
    baseRssBytes: base.rss,
    cpuMicros: cpu.user + cpu.system,
    events,
    windowMs: elapsed,
  };
}

// ----------------------------------------------------------- orchestrator side

function runChild(kind: Kind, url: string, key: string, clients: number, windowMs: number): Promise<ChildResult> {
  const proc = fork(fileURLToPath(import.meta.url), ['--child', kind, url, key, String(clients), String(windowMs)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => {
        proc.kill('SIGKILL');
        reject(new Error(`${kind}: no result in time`));
      },
      CONNECT_TIMEOUT_MS + windowMs + 60_000,
    );
    proc.once('message', (m: ChildResult | { error: string }) => {
      clearTimeout(timer);
      if ('error' in m) reject(new Error(m.error));
      else resolve(m);
      proc.kill('SIGKILL'); // measured: its leftovers (closing sockets, timers) are not waited for
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind}: child exited ${code}`));
    });
  });
}

/** Demo-shaped traffic: `rate` events/s over every scope until stopped. */
function traffic(publish: (events: IngestEvent[]) => Promise<unknown>, rate: number): () => Promise<void> {
  let running = true;
  let n = 0;
  const perTick = Math.max(1, Math.round(rate / 20));
  const item = (i: number): IngestEvent => {
    const scope = SCOPES[i % SCOPES.length] as Scope;
    if (scope === 'aircraft') {
      return {
        scope,
        data: {
          id: `a${i % 300}`,
          icao24: `a${i % 300}`,
          lat: 50 + (i % 90) / 10,
          lon: (i % 180) / 10,
          altBaroFt: 30_000,
          n: i,
        },
      };
    }
    if (scope === 'vessels')
      return { scope, data: { id: `v${i % 40}`, mmsi: `v${i % 40}`, lat: 53, lon: -6, sogKt: 12, n: i } };
    return { scope, data: { id: `${scope}-${i}`, headline: `${scope} item ${i}`, severity: 'moderate', n: i } };
  };
  const loop = (async () => {
    while (running) {
      await publish(Array.from({ length: perTick }, () => item(n++)));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '2000' },
      rate: { type: 'string', default: '200' },
      'window-s': { type: 'string', default: '20' },
      rounds: { type: 'string', default: '1' },
    },
  });
  const clients = Number(values.clients);
  const rate = Number(values.rate);
  const windowMs = Number(values['window-s']) * 1000;
  const rounds = Number(values.rounds);
  const redis = await SoakRedis.start();
  const backplane = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  let stopTraffic: (() => Promise<void>) | undefined;
  const results: ChildResult[] = [];
  try {
    gateway = await startGateway('gateway', {
      HYDRA_REDIS_URL: redis.url,
      HYDRA_MAX_CONNECTIONS_PER_IP: String(clients * 2),
    });
    stopTraffic = traffic((events) => backplane.bus.publish(events), rate);
    const { key } = await backplane.keys.create({ scopes: [...SCOPES], name: 'client-cost' });
    // Fill the entity scopes before anyone connects: snapshots as big as the demo's.
    await new Promise((r) => setTimeout(r, 3_000));
    for (let round = 0; round < rounds; round++) {
      for (const kind of ['resuming', 'sdk'] as const) {
        const r = await runChild(kind, gateway.url, key, clients, windowMs);
        results.push(r);
        console.log(JSON.stringify(r));
      }
    }
  } finally {
    await stopTraffic?.();
    await gateway?.service.stop();
    await backplane.close();
    await redis.stop();
  }
  const per = (k: Kind) => {
    const rs = results.filter((r) => r.kind === k);
    const avg = (f: (r: ChildResult) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
    return {
      heapKb: avg((r) => (r.heapBytes - r.baseHeapBytes) / r.clients / 1024),
      rssKb: avg((r) => (r.rssBytes - r.baseRssBytes) / r.clients / 1024),
      cpuUsPerEvent: avg((r) => r.cpuMicros / Math.max(1, r.events)),
      corePct: avg((r) => (100 * r.cpuMicros) / 1000 / r.windowMs),
      eventsPerSec: avg((r) => (1000 * r.events) / r.windowMs),
      connectMs: avg((r) => r.connectMs),
    };
  };
  const base = per('resuming');
  const sdk = per('sdk');
  const row = (name: string, m: ReturnType<typeof per>) =>
    `| ${name} | ${m.heapKb.toFixed(1)} | ${m.rssKb.toFixed(1)} | ${m.cpuUsPerEvent.toFixed(2)} | ${m.corePct.toFixed(1)} | ${Math.round(m.eventsPerSec)} | ${Math.round(m.connectMs)} |`;
  console.log(
    `\n${clients} clients in one process, ${rate} events/s, ${windowMs / 1000} s window, ${rounds} round(s)\n`,
  );
  console.log(
    '| client | heap KB/client | RSS KB/client | CPU µs/event delivered | % of a core | deliveries/s | all connected (ms) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  console.log(row('ResumingClient (soak today)', base));
  console.log(row('HydraClient (@hydra/client)', sdk));
  const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  console.log(
    `| ratio SDK / ResumingClient | ${ratio(sdk.heapKb, base.heapKb)} | ${ratio(sdk.rssKb, base.rssKb)} | ${ratio(sdk.cpuUsPerEvent, base.cpuUsPerEvent)} | ${ratio(sdk.corePct, base.corePct)} | | |`,
  );
}

if (process.argv[2] === '--child') {
  const [, , , kind, url, key, clients, windowMs] = process.argv;
  child(kind as Kind, url!, key!, Number(clients), Number(windowMs)).then(
    (r) => process.send?.(r),
    (err: unknown) => process.send?.({ error: String(err) }),
  );
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
