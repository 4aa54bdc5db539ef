/**
 * `pnpm bench --regions [--aircraft N] [--hz H] [--clients N] [--window-ms MS]`
 *
 * Region filters (issue 17 part 3): one gateway, a publisher of N moving
 * aircraft at H updates per second each (lat/lon drifting along a heading),
 * and the same number of clients in each phase, all `snapshot=false`:
 *
 * 1. unfiltered (the whole scope; the gateway keeps no tile map yet);
 * 2. bbox: each client asks for one of 8 boxes of 12° × 10° (edges off the
 *    2° grid, so the tile overhead is in), each covering about 5% of the
 *    aircraft's area;
 * 3. unfiltered again, plus one bbox client that keeps the tile map on:
 *    what the per-event tile publishing costs the others.
 *
 * Per phase, over the same window length: bytes per client per second (WebSocket
 * payloads counted by the clients, left_area removals included), gateway CPU (/proc user + system), p99 event age at the client
 * (publish-time CLOCK_MONOTONIC stamp in the payload; left_area removals
 * carry none) and the events the publisher actually sent per second. The
 * ratios are between phases of the same run.
 *
 * Every loop is bounded: connects give up after CONNECT_TIMEOUT_MS, the
 * publisher stops with the run.
 */
import { writeFileSync } from 'node:fs';
import { createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import { coverBoxes, type GeoBox, type IngestEvent, TILE_DEG } from '@hydra/protocol';
import { resultsDir } from './paths.js';
import { cpuSeconds, sleep } from './procs.js';
import { FIELD_COUNTER, FIELD_SCOPE, FIELD_TIME } from './protocol.js';
import type { BenchRedis } from './redis.js';
import { hydraKeys, SCOPE_NAMES, SERVER_CPUS, SIDE_CPUS } from './scenarios.js';
import { type RunningTarget, startTarget } from './targets.js';
import { WorkerPool } from './workers.js';

/** The aircraft fly over this area, uniformly spread (60° × 40°: Europe and the North Atlantic's east). */
const AREA = { minLon: -20, minLat: 30, maxLon: 40, maxLat: 70 } as const;
/** The clients' boxes: 12° × 10° each (5% of AREA), edges off the 2° grid. */
const BOXES: GeoBox[] = Array.from({ length: 8 }, (_, i) => {
  const minLon = AREA.minLon + 1.3 + (i % 4) * 14;
  const minLat = AREA.minLat + 3.7 + Math.floor(i / 4) * 16;
  return { minLon, minLat, maxLon: minLon + 12, maxLat: minLat + 10 };
});
const AIRCRAFT_SCOPE = SCOPE_NAMES.indexOf('aircraft');
const PER_IP = 500;
const SETTLE_MS = 3000;
const CONNECT_TIMEOUT_MS = 60_000;
/** The publisher sends what is due every TICK_MS, as one pipelined batch. */
const TICK_MS = 50;

export interface RegionsOptions {
  aircraft: number;
  hz: number;
  clients: number;
  windowMs: number;
}

export interface RegionsRow {
  phase: string;
  clients: number;
  /** Events the publisher sent per second during the window. */
  eventsPerSec: number;
  bytesPerClientPerSec: number;
  messagesPerClientPerSec: number;
  gatewayCpuPct: number;
  p99AgeMs: number;
  p50AgeMs: number;
  drops: number;
  /** Live-event bytes the gateway handed to uWS (hydra_bytes_delivered_total) per client per second. */
  gatewayBytesPerClientPerSec: number;
  /** Messages without the payload fields (removals, resyncs) per client per second. */
  otherMessagesPerClientPerSec: number;
  resyncs: number;
}

export function parseRegionsArgs(argv: string[]): RegionsOptions {
  const o: RegionsOptions = { aircraft: 10_000, hz: 1, clients: 1000, windowMs: 10_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const eq = a.indexOf('=');
      return Number(eq >= 0 ? a.slice(eq + 1) : (argv[++i] ?? ''));
    };
    if (a === '--regions' || a === '--') continue;
    if (a.startsWith('--aircraft')) o.aircraft = Math.max(1, Math.min(100_000, value() || 10_000));
    else if (a.startsWith('--hz')) o.hz = Math.max(0.01, Math.min(10, value() || 1));
    else if (a.startsWith('--clients')) o.clients = Math.max(1, Math.min(10_000, value() || 1000));
    else if (a.startsWith('--window-ms')) o.windowMs = Math.max(2000, Math.min(120_000, value() || 10_000));
    else throw new Error(`--regions: unknown argument ${a}`);
  }
  return o;
}

/** The share of AREA (so of the aircraft) in the tiles covering `box`: what a client of that box receives. */
export function coveredShare(box: GeoBox): number {
  let area = 0;
  for (const tile of coverBoxes([box])) {
    const column = tile % (360 / TILE_DEG);
    const row = Math.floor(tile / (360 / TILE_DEG));
    const west = Math.max(AREA.minLon, -180 + column * TILE_DEG);
    const east = Math.min(AREA.maxLon, -180 + (column + 1) * TILE_DEG);
    const south = Math.max(AREA.minLat, -90 + row * TILE_DEG);
    const north = Math.min(AREA.maxLat, -90 + (row + 1) * TILE_DEG);
    if (east > west && north > south) area += (east - west) * (north - south);
  }
  return area / ((AREA.maxLon - AREA.minLon) * (AREA.maxLat - AREA.minLat));
}

/** N aircraft drifting across AREA (wrapping at its edges), published at `hz` each through the backplane. */
class AircraftPublisher {
  private readonly lat: Float64Array;
  private readonly lon: Float64Array;
  private readonly dLat: Float64Array;
  private readonly dLon: Float64Array;
  private next = 0;
  private counter = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  sent = 0;

  constructor(
    private readonly redisUrl: string,
    private readonly o: RegionsOptions,
  ) {
    const n = o.aircraft;
    this.lat = new Float64Array(n);
    this.lon = new Float64Array(n);
    this.dLat = new Float64Array(n);
    this.dLon = new Float64Array(n);
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < n; i++) {
      this.lat[i] = AREA.minLat + rnd() * (AREA.maxLat - AREA.minLat);
      this.lon[i] = AREA.minLon + rnd() * (AREA.maxLon - AREA.minLon);
      const heading = rnd() * 2 * Math.PI;
      // About 450 kt: 0.125° of latitude a minute.
      this.dLat[i] = (Math.cos(heading) * 0.125) / 60;
      this.dLon[i] = (Math.sin(heading) * 0.125) / 60;
    }
  }

  private event(i: number): IngestEvent {
    const wrap = (v: number, lo: number, hi: number) => (v < lo ? v + (hi - lo) : v >= hi ? v - (hi - lo) : v);
    const steps = 1 / this.o.hz;
    this.lat[i] = wrap((this.lat[i] as number) + (this.dLat[i] as number) * steps, AREA.minLat, AREA.maxLat);
    this.lon[i] = wrap((this.lon[i] as number) + (this.dLon[i] as number) * steps, AREA.minLon, AREA.maxLon);
    const t = Number(process.hrtime.bigint() / 1000n);
    return {
      scope: 'aircraft',
      data: {
        id: `ac${i.toString(16).padStart(6, '0')}`,
        callsign: `BNC${i % 10_000}`,
        lat: Math.round((this.lat[i] as number) * 1e5) / 1e5,
        lon: Math.round((this.lon[i] as number) * 1e5) / 1e5,
        altBaroFt: 35_000,
        groundSpeedKt: 450,
        trackDeg: Math.round((Math.atan2(this.dLon[i] as number, this.dLat[i] as number) * 180) / Math.PI + 360) % 360,
        [FIELD_SCOPE]: AIRCRAFT_SCOPE,
        [FIELD_COUNTER]: ++this.counter,
        [FIELD_TIME]: t,
      },
    };
  }

  /** Publishes one update of every aircraft (the state the clients' gateway starts from). */
  async seed(): Promise<void> {
    const bp = createBackplane({ kind: 'redis', url: this.redisUrl, retention: DEFAULT_RETENTION });
    try {
      for (let i = 0; i < this.o.aircraft; i += 500) {
        const batch: IngestEvent[] = [];
        for (let j = i; j < Math.min(this.o.aircraft, i + 500); j++) batch.push(this.event(j));
        await bp.bus.publish(batch);
      }
    } finally {
      await bp.close();
    }
  }

  start(): void {
    this.running = true;
    const bp = createBackplane({ kind: 'redis', url: this.redisUrl, retention: DEFAULT_RETENTION });
    const perSec = this.o.aircraft * this.o.hz;
    this.loop = (async () => {
      const t0 = performance.now();
      let due = 0;
      try {
        while (this.running) {
          const target = Math.floor(((performance.now() - t0) / 1000) * perSec);
          // At most one second's worth per batch: a publisher that falls behind reports a lower rate.
          const count = Math.min(target - due, Math.ceil(perSec));
          if (count > 0) {
            const batch: IngestEvent[] = [];
            for (let k = 0; k < count; k++) {
              batch.push(this.event(this.next));
              this.next = (this.next + 1) % this.o.aircraft;
            }
            await bp.bus.publish(batch);
            this.sent += count;
            due += count;
          }
          await sleep(TICK_MS);
        }
      } finally {
        await bp.close();
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

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

async function phase(
  label: string,
  gw: RunningTarget,
  pool: WorkerPool,
  publisher: AircraftPublisher,
  key: string,
  bbox: boolean,
  o: RegionsOptions,
  progress: (line: string) => void,
  /** Unfiltered clients, plus one bbox client that keeps the tile map on. */
  withMapOn = false,
): Promise<RegionsRow> {
  if (withMapOn) {
    const box = BOXES[0] as GeoBox;
    await pool.connect(1, {
      protocol: 'hydra',
      port: gw.port,
      perIp: PER_IP,
      rampPerSec: 100,
      maxInflight: 1,
      paths: [
        `/v1/stream?apiKey=${encodeURIComponent(key)}&snapshot=false&bbox=${box.minLon},${box.minLat},${box.maxLon},${box.maxLat}`,
      ],
      subs: [[AIRCRAFT_SCOPE]],
      scopeNames: [...SCOPE_NAMES],
      timeoutMs: CONNECT_TIMEOUT_MS,
    });
  }
  const paths = bbox
    ? BOXES.map(
        (b) =>
          `/v1/stream?apiKey=${encodeURIComponent(key)}&snapshot=false&bbox=${b.minLon},${b.minLat},${b.maxLon},${b.maxLat}`,
      )
    : [`/v1/stream?apiKey=${encodeURIComponent(key)}&snapshot=false`];
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
  progress(`  ${label}: ${r.open}/${o.clients} open in ${(r.ms / 1000).toFixed(1)} s`);
  await sleep(SETTLE_MS);
  await pool.all({ cmd: 'reset' }, 30_000);
  const gatewayBytes0 = await metricSum(gw.adminPort, 'hydra_bytes_delivered_total');
  const resyncs0 = await metricSum(gw.adminPort, 'hydra_resyncs_total');
  const cpu0 = cpuSeconds(gw.pid);
  const sent0 = publisher.sent;
  const t0 = performance.now();
  await sleep(o.windowMs);
  const wall = (performance.now() - t0) / 1000;
  const cpu = (cpuSeconds(gw.pid) - cpu0) / wall;
  const sent = (publisher.sent - sent0) / wall;
  const gatewayBytes = (await metricSum(gw.adminPort, 'hydra_bytes_delivered_total')) - gatewayBytes0;
  const resyncs = (await metricSum(gw.adminPort, 'hydra_resyncs_total')) - resyncs0;
  const st = await pool.stats();
  // Counted by the clients since the reset (their own wall time): payload events and removals alike.
  const clientWall = st.wallMs / 1000;
  const bytes = st.messageBytes + st.otherBytes;
  const messages = st.messages + st.otherMessages;
  await pool.all({ cmd: 'close' }, 60_000);
  await sleep(1000);
  const row: RegionsRow = {
    phase: label,
    clients: st.open,
    eventsPerSec: sent,
    bytesPerClientPerSec: bytes / Math.max(1, st.open) / clientWall,
    messagesPerClientPerSec: messages / Math.max(1, st.open) / clientWall,
    gatewayCpuPct: 100 * cpu,
    p99AgeMs: st.latency.percentile(0.99) / 1000,
    p50AgeMs: st.latency.percentile(0.5) / 1000,
    drops: st.closedByServer,
    gatewayBytesPerClientPerSec: gatewayBytes / Math.max(1, st.open) / wall,
    otherMessagesPerClientPerSec: st.otherMessages / Math.max(1, st.open) / clientWall,
    resyncs,
  };
  progress(`  ${fmtRow(row)}`);
  return row;
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

function fmtRow(r: RegionsRow): string {
  return (
    `${r.phase}: ${r.clients} clients, ${f(r.eventsPerSec, 0)} events/s published, ${f(r.bytesPerClientPerSec, 0)} B/client/s ` +
    `(${f(r.messagesPerClientPerSec, 1)} msg, ${f(r.otherMessagesPerClientPerSec, 1)} without payload; gateway-side ${f(r.gatewayBytesPerClientPerSec, 0)} B), resyncs ${r.resyncs}, gateway CPU ${f(r.gatewayCpuPct)}%, event age p50 ${f(r.p50AgeMs, 2)} ms p99 ${f(r.p99AgeMs, 2)} ms, drops ${r.drops}`
  );
}

/**
 * The publisher's rate drifts between phases on a busy machine, so the
 * ratios compare bytes and CPU per event published (per 1,000), not per second.
 */
export function regionsTable(rows: RegionsRow[]): string {
  const perK = (value: number, r: RegionsRow) => (1000 * value) / r.eventsPerSec;
  const base = rows[0];
  const baseBytes = base ? perK(base.bytesPerClientPerSec, base) : Number.NaN;
  const baseCpu = base ? perK(base.gatewayCpuPct, base) : Number.NaN;
  const head =
    '| phase | clients | events/s published | bytes/client/s | bytes/client per 1k events | ratio | messages/client/s | gateway CPU % of a core | CPU per 1k events/s | ratio | event age p50 ms | p99 ms | drops |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  return (
    head +
    rows
      .map(
        (r) =>
          `| ${r.phase} | ${r.clients} | ${f(r.eventsPerSec, 0)} | ${f(r.bytesPerClientPerSec, 0)} | ${f(perK(r.bytesPerClientPerSec, r), 0)} | ${f(perK(r.bytesPerClientPerSec, r) / baseBytes, 3)} | ${f(r.messagesPerClientPerSec, 1)} | ${f(r.gatewayCpuPct)} | ${f(perK(r.gatewayCpuPct, r), 2)} | ${f(perK(r.gatewayCpuPct, r) / baseCpu, 2)} | ${f(r.p50AgeMs, 2)} | ${f(r.p99AgeMs, 2)} | ${r.drops} |`,
      )
      .join('\n')
  );
}

export async function runRegions(argv: string[], redis: BenchRedis, progress: (line: string) => void): Promise<void> {
  const o = parseRegionsArgs(argv);
  const shares = BOXES.map(coveredShare);
  const share = shares.reduce((a, b) => a + b, 0) / shares.length;
  progress(
    `regions: ${o.aircraft} aircraft at ${o.hz} Hz, ${o.clients} clients per phase, window ${o.windowMs / 1000} s; ` +
      `each box covers 5.0% of the area, its tiles ${(100 * share).toFixed(1)}%`,
  );
  const gw = await startTarget('hydra', {
    redisUrl: redis.url,
    redisPort: redis.port,
    serverCpus: SERVER_CPUS,
    sideCpus: SIDE_CPUS,
    pingMs: 15_000,
    gatewayEnv: { HYDRA_MAX_CONNECTIONS_PER_IP: String(PER_IP) },
  });
  const pool = await WorkerPool.start(Math.max(1, Math.min(4, Math.ceil(o.clients / 500))), SIDE_CPUS);
  const publisher = new AircraftPublisher(redis.url, o);
  const rows: RegionsRow[] = [];
  try {
    const [key] = await hydraKeys(redis.url, [[AIRCRAFT_SCOPE]]);
    await publisher.seed();
    publisher.start();
    await sleep(2000);
    rows.push(await phase('unfiltered', gw, pool, publisher, key as string, false, o, progress));
    rows.push(await phase('bbox (5% boxes)', gw, pool, publisher, key as string, true, o, progress));
    rows.push(await phase('unfiltered, tile map on', gw, pool, publisher, key as string, false, o, progress, true));
  } finally {
    await publisher.stop();
    pool.stop();
    await gw.stop();
  }
  const table = regionsTable(rows);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const note =
    `Region filters (issue 17 part 3): ${o.aircraft} aircraft at ${o.hz} Hz over ${AREA.maxLon - AREA.minLon}° × ${AREA.maxLat - AREA.minLat}°, ` +
    `${o.clients} clients per phase (snapshot=false), one gateway on core ${SERVER_CPUS}, Redis, publisher and clients on core ${SIDE_CPUS}; ` +
    `window ${o.windowMs / 1000} s per phase. bbox clients: 8 boxes of 12° × 10° (5.0% of the area each; their ${TILE_DEG}° tiles cover ` +
    `${(100 * share).toFixed(1)}% on average: the tile overhead). Bytes: WebSocket payloads received per client per second (counted by the clients, left_area removals included). CPU: /proc user + system of the gateway. Event age: publish-time monotonic stamp to client receipt. ` +
    `Ratios against the first (unfiltered) phase of the same run.\n`;
  writeFileSync(`${resultsDir}/regions-${stamp}.md`, `${note}\n${table}\n`);
  writeFileSync(`${resultsDir}/regions-${stamp}.json`, `${JSON.stringify({ options: o, share, rows }, null, 2)}\n`);
  console.log(`\n${note}\n${table}\n\nwritten: bench/results/regions-${stamp}.{md,json}`);
}
