/**
 * What the keep-up mode (keep-up.ts) measures per phase, and its markdown
 * report: ingest and CPU, memory, readiness and latency.
 */
import type { MemoryFigures, MetricsSample } from './gateway-probe.js';
import type { KeepUpOptions, KeepUpPhase } from './keep-up-options.js';

export interface TrickleFigures {
  published: number;
  expected: number;
  delivered: number;
  lossPct: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  closedByServer: number;
}

/** One measured window of a phase: the baseline or the flood. */
export interface WindowFigures {
  seconds: number;
  /** Gateway CPU, % of one core (user + sys, all threads). */
  cpuPct: number;
  /** Time the gateway's event loop was runnable but waiting for a CPU, % of the window. */
  runqueueWaitPct: number;
  /** Highest per-scrape event-loop delay p99 and max, ms beyond the monitor's tick (keep-up.ts, GATEWAY_LOOP_SAMPLE_MS). */
  lagP99Ms: number;
  lagMaxMs: number;
  trickle: TrickleFigures | null;
}

export interface KeepUpRow {
  round: number;
  phase: KeepUpPhase;
  clients: number;
  baseline: WindowFigures;
  flood: WindowFigures;
  ingestEventsPerSec: number;
  ingestErrors: number;
  batchP99Ms: number;
  /** Events Redis assigned seqs to in the ingested scopes (flooded and quiet) over the phase, and those the gateway counted. */
  stored: number;
  received: number;
  /** Trickle events the gateway received over the phase. */
  trickleReceived: number;
  gatewayCpuUsPerEvent: number;
  /** The same less the baseline's share: what the flood itself costs per event. */
  gatewayNetCpuUsPerEvent: number;
  redisCpuPct: number;
  rss: MemoryFigures;
  heapUsed: MemoryFigures;
  heapTotal: MemoryFigures;
  external: MemoryFigures;
  readyChecks: number;
  notReady: number;
  notReadyBy: Record<string, number>;
  backlogPeakBytes: number;
  /** Counters of the gateway's /metrics over the phase: any of these means it did not simply keep up. */
  busGaps: number;
  silentResubscribes: number;
  errors: number;
  /** RSS over the flood (s since it started, MiB), for the report's trend line. */
  rssTrend: Array<[number, number]>;
  /** The gateway's /metrics scrapes over the phase (`atMs` from the baseline's start), for the JSON report. */
  scrapes: MetricsSample[];
}

export interface KeepUpReportInput {
  options: KeepUpOptions;
  /** Load average (1, 5, 15 min) at start and end. */
  load: [number[], number[]];
  method: {
    batch: number;
    flooded: readonly string[];
    quietScope: string;
    gatewayMain: string;
    /** The checkout measured (machineInfo). */
    commit: string;
    clientScope: string;
    warmupMs: number;
    baselineMs: number;
    readyEveryMs: number;
    rssEveryMs: number;
    metricsEveryMs: number;
    probeTimeoutMs: number;
    loopTickMs: number;
  };
  rows: readonly KeepUpRow[];
}

/** The rate the issue asks a gateway to keep up with. */
const TARGET_EVENTS_PER_SEC = 100_000;

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const mib = (x: number) => f(x / 2 ** 20, 1);
const loadText = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');

const memoryCell = (m: MemoryFigures) => `${mib(m.start)} / ${mib(m.peak)} / ${mib(m.end)}`;

function growthCell(m: MemoryFigures): string {
  const sign = m.growth >= 0 ? '+' : '';
  return `${sign}${mib(m.growth)} (≤ ${mib(m.tolerance)}: ${m.bounded ? 'bounded' : '**grew**'})`;
}

const trickleCell = (t: TrickleFigures | null) =>
  t ? `${f(t.p50Ms, 1)} / ${f(t.p99Ms, 1)} / ${f(t.maxMs, 0)}; ${t.delivered} / ${t.expected}` : '–';

export function keepUpReport(input: KeepUpReportInput): string {
  const { options: o, load, method: m, rows } = input;
  const phaseText = (r: KeepUpRow) =>
    r.phase === 'clients' ? `${r.clients} clients of ${m.clientScope}` : 'no clients';
  const lines = [
    '# The gateways keep up (issue 16)',
    '',
    `Commit ${m.commit}.`,
    '',
    `A real ingest server takes ${m.batch}-event NDJSON batches (half ${m.flooded.join(', half ')}, and one \`${m.quietScope}\` event per batch: a quiet scope read in the same socket reads as the flood), ${o.inFlight} in flight, each lane sending its next batch as soon as the previous one is answered; one real gateway (\`${m.gatewayMain}\`, every default, a fresh process per phase) is subscribed to the same Redis. No client holds ${[...m.flooded, m.quietScope].join(', ')}. Phases: ${o.phases.join(', ')}; ${o.rounds} round(s); each phase a ${m.baselineMs / 1000} s baseline (no flood) then ${o.seconds} s of flood measured after ${m.warmupMs / 1000} s of warm-up.`,
    `Placement: gateway and ingest server on core 0, the gateway in a session of its own (where the kernel shares CPU time by session, autogroup, it is not one of the bench's processes sharing one share); Redis, the client worker, the trickle publisher and the orchestrator on core 1. Load average at start ${loadText(load[0])}, at end ${loadText(load[1])} (1 / 5 / 15 min; 2 cores, shared with other work).`,
    '',
    `Gateway CPU: /proc/<pid>/stat (user + sys, all threads). µs/event divides the flood window's CPU by the events the ingest server accepted in it; "net" first takes off the baseline's share (pings, timers, the probes and, with clients, the trickle's fan-out). Received / stored: the gateway's \`hydra_bus_events_received_total\` for the flooded and quiet scopes against the seqs Redis assigned them, both over the whole phase (Redis flushed, the gateway subscribed before the first event; the counter read again until it catches up, at most 5 s). Runqueue wait: the share of the window the gateway's event loop was runnable but waiting for a CPU (/proc/<pid>/schedstat), i.e. the part of any delay the machine's other work caused.`,
    `Memory: RSS from /proc every ${m.rssEveryMs} ms; V8 heap used, heap committed and external memory (Buffers) from the gateway's /metrics every ${m.metricsEveryMs / 1000} s; start is the first sample of the flood, peak and end over the flood. Bounded: the peak of the flood's last third is at most the middle third's plus max(8 MiB, 5%), a garbage-collection sawtooth rather than a trend. The first third is the settle: a gateway put under a flood first grows to it (V8 sizes its young generation to the allocation rate, the allocator its arenas; about 15 s here, so a short run's verdict is weak), then stays flat; memory kept per event grows through every third and fails the check for any flood long enough to show it.`,
    `Readiness: /readyz every ${m.readyEveryMs} ms from the baseline's start; an answer other than 200 or none within ${m.probeTimeoutMs} ms counts. Event-loop delay: the gateway's \`hydra_gateway_nodejs_eventloop_lag_{p99,max}_seconds\` (prom-client's monitorEventLoopDelay, reset at each scrape), the highest of the window's scrapes (a scrape's p99 over about 20 ticks is its max), less the monitor's ${m.loopTickMs} ms tick (it records the whole interval between ticks: an idle loop reads ${m.loopTickMs} ms). Backlog: Redis' output buffer for the gateway's subscriber connection (\`CLIENT LIST\` omem), its peak: what the gateway had not read yet.`,
    '',
    '## Ingest and gateway CPU',
    '',
    '| round | phase | ingest events/s | batch p99 ms | ingest errors | received / stored | gateway % core: baseline → flood | gateway µs/event (net) | at 100k events/s, % core | Redis % core |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.round} | ${phaseText(r)} | ${f(r.ingestEventsPerSec, 0)} | ${f(r.batchP99Ms)} | ${r.ingestErrors} | ${r.received} / ${r.stored} | ${f(r.baseline.cpuPct, 1)} → ${f(r.flood.cpuPct, 1)} | ${f(r.gatewayCpuUsPerEvent, 2)} (${f(r.gatewayNetCpuUsPerEvent, 2)}) | ${f((r.gatewayNetCpuUsPerEvent * TARGET_EVENTS_PER_SEC) / 1e4, 0)} | ${f(r.redisCpuPct, 0)} |`,
    ),
    '',
    `"At 100k events/s": the net µs/event times ${TARGET_EVENTS_PER_SEC.toLocaleString('en')}, as % of one core: what the issue's ingest target would cost this gateway if its cost per event stays flat.`,
    '',
    '## Memory (MiB: start / peak / end; peak growth from the middle third of the flood to the last)',
    '',
    '| round | phase | RSS | RSS peak growth | V8 heap used | heap used peak growth | V8 heap committed | external (Buffers) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.round} | ${phaseText(r)} | ${memoryCell(r.rss)} | ${growthCell(r.rss)} | ${memoryCell(r.heapUsed)} | ${growthCell(r.heapUsed)} | ${memoryCell(r.heapTotal)} | ${memoryCell(r.external)} |`,
    ),
    '',
    '## Readiness, event loop, backlog, delivery to the clients (baseline → flood)',
    '',
    '| round | phase | /readyz not 200 / checks | loop delay p99 ms | runqueue wait % | Redis backlog peak KiB | gaps / silent resubscribes / errors | trickle p50 / p99 / max ms; delivered / expected, baseline | the same, flood | closed by server |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const notReady =
        r.notReady === 0
          ? `0 / ${r.readyChecks}`
          : `**${r.notReady}** / ${r.readyChecks} (${Object.entries(r.notReadyBy)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ')})`;
      const b = r.baseline;
      const w = r.flood;
      return `| ${r.round} | ${phaseText(r)} | ${notReady} | ${f(b.lagP99Ms)} → ${f(w.lagP99Ms)} | ${f(b.runqueueWaitPct)} → ${f(w.runqueueWaitPct)} | ${f(r.backlogPeakBytes / 1024, 0)} | ${r.busGaps} / ${r.silentResubscribes} / ${r.errors} | ${trickleCell(b.trickle)} | ${trickleCell(w.trickle)} | ${w.trickle ? w.trickle.closedByServer : '–'} |`;
    }),
    '',
    `Trickle: ${o.trickleRate} \`${m.clientScope}\` events/s through the backplane to every client, in the baseline and over the flood; latency from the publisher's monotonic stamp to receipt (the trickle's publisher and the clients share core 1 with Redis and the flood's sender).`,
    '',
    '## RSS over the flood (s: MiB, every 5 s)',
    '',
    ...rows.map((r) => {
      const points = r.rssTrend.filter(
        ([s], i, all) => i === 0 || Math.floor(s / 5) !== Math.floor((all[i - 1]?.[0] ?? 0) / 5),
      );
      return `- r${r.round} ${phaseText(r)}: ${points.map(([s, v]) => `${f(s, 0)}: ${f(v, 0)}`).join(' · ')}`;
    }),
    '',
  ];
  return `${lines.join('\n')}\n`;
}
