/**
 * Watches one running gateway process for a bench phase (keep-up.ts), the way
 * an operator's probes and scraper would, each on its own timer:
 *
 * - `/readyz` every `readyEveryMs`; an answer other than 200, or none within
 *   `timeoutMs`, counts as not ready (with its status or `timeout`);
 * - its RSS from /proc every `rssEveryMs` (no request: costs the gateway nothing);
 * - `/metrics` every `metricsEveryMs`: V8 heap used, external memory (Buffers),
 *   and the event-loop delay p99 and max since the previous scrape (prom-client
 *   resets its histogram at each scrape); with `backlogBytes`, what Redis holds
 *   for the gateway's subscriber, read at the same moment.
 *
 * A timer skips its turn while its previous request is unanswered, so a
 * stalled gateway is never sent a growing queue of probes. Every timer stops
 * at stop() or at `maxMs` after start, whichever comes first.
 */
import http from 'node:http';
import { rssBytes } from './procs.js';

export interface GatewayProbeOptions {
  pid: number;
  adminPort: number;
  readyEveryMs: number;
  rssEveryMs: number;
  metricsEveryMs: number;
  /** A probe unanswered for this long counts as failed (readiness) or is dropped (metrics). */
  timeoutMs: number;
  /** Hard stop of every timer, however long the caller takes to call stop(). */
  maxMs: number;
  /** Bytes Redis holds for the gateway's subscriber connection (its output buffer). */
  backlogBytes?: () => Promise<number>;
}

export interface Sample {
  /** ms since the probe started. */
  atMs: number;
  value: number;
}

export interface MetricsSample {
  atMs: number;
  heapUsedBytes: number;
  /** V8 heap committed (young generation included): what the heap holds of the RSS. */
  heapTotalBytes: number;
  externalBytes: number;
  /** Event-loop delay since the previous scrape, as the gateway's monitor recorded it (s). */
  lagP99S: number;
  lagMaxS: number;
  backlogBytes: number;
}

export interface ProbeReadings {
  readyChecks: number;
  notReady: number;
  /** Failed readiness answers by status code (or `timeout`, `error`). */
  notReadyBy: Record<string, number>;
  rss: Sample[];
  metrics: MetricsSample[];
  /** Scrapes that failed or timed out. */
  scrapeFailures: number;
}

/** GETs `path` on the loopback admin port; resolves with the status and body, rejects on error or timeout. */
export function adminGet(port: number, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Samples of a Prometheus text exposition by series (`name` or `name{labels}`
 * as written), comments skipped. Enough for prom-client's output: no
 * timestamps, no escaped braces in label values.
 */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space <= 0) continue;
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** Sum of every series of metric `name` whose labels include all of `labels` (`key="value"` pairs). */
export function metricSum(samples: ReadonlyMap<string, number>, name: string, labels: string[] = []): number {
  let sum = 0;
  for (const [series, value] of samples) {
    const brace = series.indexOf('{');
    if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue;
    if (labels.every((l) => series.includes(l))) sum += value;
  }
  return sum;
}

const GATEWAY_PREFIX = 'hydra_gateway_';

export class GatewayProbe {
  private readonly started = performance.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly readings: ProbeReadings = {
    readyChecks: 0,
    notReady: 0,
    notReadyBy: {},
    rss: [],
    metrics: [],
    scrapeFailures: 0,
  };
  private readyBusy = false;
  private scrapeBusy = false;
  private stopped = false;

  private constructor(private readonly o: GatewayProbeOptions) {}

  static start(o: GatewayProbeOptions): GatewayProbe {
    const probe = new GatewayProbe(o);
    probe.every(o.readyEveryMs, () => probe.checkReady());
    probe.every(o.rssEveryMs, () => probe.readRss());
    probe.every(o.metricsEveryMs, () => probe.scrape());
    probe.readRss();
    const cap = setTimeout(() => probe.halt(), o.maxMs);
    cap.unref();
    probe.timers.push(cap);
    return probe;
  }

  /** The readings so far (live: later samples are appended). */
  get current(): Readonly<ProbeReadings> {
    return this.readings;
  }

  /** Stops every timer and waits for the probes in flight (each bounded by `timeoutMs`). */
  async stop(): Promise<ProbeReadings> {
    this.halt();
    this.readRss();
    await Promise.all(this.pending);
    return this.readings;
  }

  private halt(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  private every(ms: number, run: () => void): void {
    const t = setInterval(() => {
      if (!this.stopped) run();
    }, ms);
    this.timers.push(t);
  }

  /** ms since the probe started: the clock of every sample's `atMs`. */
  elapsedMs(): number {
    return performance.now() - this.started;
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private readRss(): void {
    const value = rssBytes(this.o.pid);
    if (Number.isFinite(value)) this.readings.rss.push({ atMs: this.elapsedMs(), value });
  }

  private checkReady(): void {
    if (this.readyBusy) return;
    this.readyBusy = true;
    const r = this.readings;
    const fail = (why: string) => {
      r.notReady++;
      r.notReadyBy[why] = (r.notReadyBy[why] ?? 0) + 1;
    };
    this.track(
      adminGet(this.o.adminPort, '/readyz', this.o.timeoutMs)
        .then(
          ({ status }) => {
            r.readyChecks++;
            if (status !== 200) fail(String(status));
          },
          (err: unknown) => {
            r.readyChecks++;
            fail((err as Error).message === 'timeout' ? 'timeout' : 'error');
          },
        )
        .finally(() => {
          this.readyBusy = false;
        }),
    );
  }

  private scrape(): void {
    if (this.scrapeBusy) return;
    this.scrapeBusy = true;
    const atMs = this.elapsedMs();
    const backlog = this.o.backlogBytes?.().catch(() => Number.NaN) ?? Promise.resolve(Number.NaN);
    this.track(
      Promise.all([adminGet(this.o.adminPort, '/metrics', this.o.timeoutMs), backlog])
        .then(
          ([{ status, body }, backlogBytes]) => {
            if (status !== 200) {
              this.readings.scrapeFailures++;
              return;
            }
            const m = parsePrometheus(body);
            const g = (name: string) => metricSum(m, `${GATEWAY_PREFIX}${name}`);
            this.readings.metrics.push({
              atMs,
              heapUsedBytes: g('nodejs_heap_size_used_bytes'),
              heapTotalBytes: g('nodejs_heap_size_total_bytes'),
              externalBytes: g('nodejs_external_memory_bytes'),
              lagP99S: g('nodejs_eventloop_lag_p99_seconds'),
              lagMaxS: g('nodejs_eventloop_lag_max_seconds'),
              backlogBytes,
            });
          },
          () => {
            this.readings.scrapeFailures++;
          },
        )
        .finally(() => {
          this.scrapeBusy = false;
        }),
    );
  }
}

export interface MemoryFigures {
  start: number;
  peak: number;
  end: number;
  /** Highest sample in the middle and in the last third of the window (the first third is the settle). */
  middlePeak: number;
  lastPeak: number;
  /** lastPeak − middlePeak: what the peak grew by while the load went on. */
  growth: number;
  /** Whether that growth is within `tolerance` (the noise of a sawtooth between GCs, not a trend). */
  bounded: boolean;
  tolerance: number;
}

/** Allowed peak growth from the middle third of a window to the last: max(8 MiB, 5% of the middle third's peak). */
export function growthTolerance(middlePeak: number): number {
  return Math.max(8 * 2 ** 20, 0.05 * middlePeak);
}

/**
 * Start, peak and end of samples over [fromMs, toMs], and whether the peak
 * stayed bounded: the last third's peak is at most the middle third's plus
 * growthTolerance. The first third is left out of that comparison: a process
 * put under load grows to it first (V8 sizes its young generation to the
 * allocation rate, the allocator its arenas; about 15 s for a gateway under
 * a flood). Memory kept per event grows through every third and fails the
 * check for any window long enough to show it.
 */
export function memoryFigures(samples: readonly Sample[], fromMs: number, toMs: number): MemoryFigures {
  const inside = samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs && Number.isFinite(s.value));
  const third = (toMs - fromMs) / 3;
  const peakOf = (from: number, to: number) => {
    const xs = inside.filter((s) => s.atMs >= from && s.atMs <= to).map((s) => s.value);
    return xs.length === 0 ? Number.NaN : Math.max(...xs);
  };
  const middlePeak = peakOf(fromMs + third, fromMs + 2 * third);
  const lastPeak = peakOf(fromMs + 2 * third, toMs);
  const growth = lastPeak - middlePeak;
  const tolerance = growthTolerance(middlePeak);
  return {
    start: inside[0]?.value ?? Number.NaN,
    peak: peakOf(fromMs, toMs),
    end: inside.at(-1)?.value ?? Number.NaN,
    middlePeak,
    lastPeak,
    growth,
    bounded: growth <= tolerance,
    tolerance,
  };
}
