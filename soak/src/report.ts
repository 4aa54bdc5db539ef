import type { Scope } from '@hydra/protocol';
import { type GatewaySample, slopeMiBPerHour } from './memory-trend.js';
import type { RedisFootprint } from './redis-footprint.js';

export interface FaultRecord {
  kind: string;
  what: string;
  /** ms since the start of the run */
  at: number;
  recoveryMs: number;
  survived: boolean;
}

/** CPU of the soak itself over one sampling interval, % of one core. */
export interface CpuSample {
  /** ms since the faults began */
  at: number;
  orchestratorPct: number;
  workerPct: number[];
  /** Event-loop delay of each worker over the interval: p99 and max, ms. */
  workerLoopP99Ms: number[];
  workerLoopMaxMs: number[];
  /** The machine's 1-minute load average: how contended the cores were. */
  load1: number;
}

export interface SoakResult {
  date: string;
  minutes: number;
  faultEverySeconds: number;
  /** From the first fault's clock start to every client caught up. */
  durationMs: number;
  /** The whole command, Redis start to report (build excluded). */
  wallMs: number;
  clients: number;
  clientProcesses: number;
  /** CPU cores of the machine. */
  cores: number;
  sourceIps: number;
  feed: string;
  connectedMin: number;
  connectedAtEnd: number;
  connects: number;
  refusals: Record<string, number>;
  closes: Record<string, number>;
  published: Map<Scope, number>;
  ingest: { ok: number; events: number; unavailable: number; other: number; otherStatuses: Record<string, number> };
  /** Error-level log lines that Redis faults cause by design (publisher 503s). */
  expectedErrorLogs: number;
  /** Gateway log lines about subscription gaps (filled from history, or resync). */
  recoveryLog: string[];
  perClient: { delivered: number; owed: number; lost: number; duplicates: number; resyncs: number }[];
  eventsReceived: number;
  /** CPU the client workers used over their whole life, µs. */
  clientCpuMicros: number;
  faults: FaultRecord[];
  /** Every gateway instance's /metrics samples (every 10 s). */
  memory: { name: string; samples: GatewaySample[] }[];
  /** The gateway that lives through the whole run (never faulted). */
  anchor: string;
  warmupMs: number;
  cpu: CpuSample[];
  redis: { baseline: RedisFootprint; withClients: RedisFootprint; after: RedisFootprint; releasedAfterMs: number };
  errors: string[];
}

const mb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)} MiB` : 'n/a');
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => (xs.length === 0 ? Number.NaN : sum(xs) / xs.length);
const pct = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} %` : 'n/a');
const slope = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(2)} MiB/h` : 'n/a');
const minSec = (ms: number) => `${Math.floor(ms / 60000)}:${String(Math.round((ms % 60000) / 1000)).padStart(2, '0')}`;
/**
 * How far Redis memory not taken by data keys (used_memory − their MEMORY USAGE) may end above its
 * baseline once the clients left: client output buffers, the Lua script cache and allocator rounding
 * move by some KiB; what 2,000 clients' limiter hashes hold is about a MiB.
 */
const REDIS_OVERHEAD_TOLERANCE = 512 * 1024;

/** At most `n` samples, evenly spread, first and last included. */
function thin<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  return Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))] as T);
}

export function renderReport(r: SoakResult): string {
  const lost = sum(r.perClient.map((p) => p.lost));
  const duplicates = sum(r.perClient.map((p) => p.duplicates));
  const resyncs = sum(r.perClient.map((p) => p.resyncs));
  const delivered = r.perClient.map((p) => p.delivered);
  const survived = r.faults.filter((f) => f.survived).length;
  // A resync is announced, not silent; it is accepted only where a gateway saw the backplane's seq go
  // backwards (Redis lost its newest events in a crash: the clients' view must restart). Any other fails.
  const regressions = r.recoveryLog.filter((l) => {
    const m = /"expected":(\d+),"got":(\d+)/.exec(l);
    return m !== null && Number(m[2]) < Number(m[1]);
  }).length;
  const unexplainedResyncs = resyncs > 0 && regressions === 0;
  const { baseline, withClients, after } = r.redis;
  const overhead = (f: RedisFootprint) => f.usedMemory - f.dataBytes;
  const overheadGrowth = overhead(after) - overhead(baseline);
  const limiterBack = after.heldSlots === 0 && after.limiterKeys === baseline.limiterKeys;
  const redisBack = limiterBack && overheadGrowth <= REDIS_OVERHEAD_TOLERANCE;
  const verdict =
    lost === 0 &&
    duplicates === 0 &&
    !unexplainedResyncs &&
    survived === r.faults.length &&
    redisBack &&
    r.errors.length === 0;
  const byKind = new Map<string, FaultRecord[]>();
  for (const f of r.faults) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);

  const anchor = r.memory.find((m) => m.name === r.anchor)?.samples ?? [];
  const steady = anchor.filter((s) => s.at >= r.warmupMs);
  const heapSlope = slopeMiBPerHour(anchor, (s) => s.heap, r.warmupMs);
  const rssSlope = slopeMiBPerHour(anchor, (s) => s.rss, r.warmupMs);
  const anchorFirst = anchor[0];
  const anchorLast = anchor[anchor.length - 1];
  const anchorCpu =
    anchorFirst && anchorLast && anchorLast.at > anchorFirst.at
      ? (100 * (anchorLast.cpuSeconds - anchorFirst.cpuSeconds) * 1000) / (anchorLast.at - anchorFirst.at)
      : Number.NaN;
  const workers = Array.from({ length: r.clientProcesses }, (_, i) => ({
    cpu: r.cpu.map((c) => c.workerPct[i] ?? Number.NaN),
    loopP99: r.cpu.map((c) => c.workerLoopP99Ms[i] ?? Number.NaN),
    loopMax: r.cpu.map((c) => c.workerLoopMaxMs[i] ?? Number.NaN),
  }));
  const orchestrator = r.cpu.map((c) => c.orchestratorPct);
  const soakTotal = r.cpu.map((c) => c.orchestratorPct + sum(c.workerPct));

  const lines = [
    `# Soak report — ${r.date}`,
    '',
    `\`pnpm soak --minutes ${r.minutes} --clients ${r.clients} --fault-every ${r.faultEverySeconds}\`: its own Redis`,
    '(AOF, `appendfsync always`), 3 gateways (the first never faulted), 1 publisher, resuming clients',
    '(`@hydra/stream-client`) spread over source IPs and worker processes that check seq continuity and',
    'reconnect with `resume`; faults injected in turn on a schedule. See `soak/README.md`.',
    '',
    `**Verdict: ${verdict ? 'PASS' : 'FAIL'}** — ${lost} events lost, ${duplicates} duplicated, ${resyncs} resyncs, ` +
      `${survived}/${r.faults.length} faults survived; after the clients left Redis held ${after.heldSlots} limiter slots ` +
      `in ${after.limiterKeys} keys (baseline ${baseline.limiterKeys}) and used_memory ${mb(after.usedMemory)} ` +
      `(baseline ${mb(baseline.usedMemory)}); ${r.errors.length} errors.`,
    '',
    '## Summary',
    '',
    '| | |',
    '|---|---|',
    `| duration (faults start → every client caught up) / whole command | ${(r.durationMs / 60000).toFixed(1)} min / ${(r.wallMs / 60000).toFixed(1)} min |`,
    `| clients (source IPs, worker processes) | ${r.clients} (${r.sourceIps}, ${r.clientProcesses}) |`,
    `| feed | ${r.feed} |`,
    `| connections held: lowest (sampled each second, fault windows included) / at end | ${r.connectedMin} / ${r.connectedAtEnd} |`,
    `| connects (incl. resumes) | ${r.connects} |`,
    `| upgrade refusals by status | ${JSON.stringify(r.refusals)} |`,
    `| client closes by code | ${JSON.stringify(r.closes)} |`,
    `| events published (all scopes) | ${sum([...r.published.values()])} (${[...r.published].map(([s, n]) => `${s} ${n}`).join(', ')}) |`,
    `| soak ingest: 200 / 503 (Redis down) / other | ${r.ingest.ok} (${r.ingest.events} events) / ${r.ingest.unavailable} / ${r.ingest.other}${r.ingest.other > 0 ? ` ${JSON.stringify(r.ingest.otherStatuses)}` : ''} |`,
    `| events delivered per client: min / max | ${Math.min(...delivered)} / ${Math.max(...delivered)} |`,
    `| events owed per client (published after its first snapshot): min / max | ${Math.min(...r.perClient.map((p) => p.owed))} / ${Math.max(...r.perClient.map((p) => p.owed))} |`,
    `| events received by all clients | ${r.eventsReceived} |`,
    `| lost / duplicated / resyncs (sum over clients) | ${lost} / ${duplicates} / ${resyncs} |`,
    `| backplane seq regressions seen by gateways (Redis lost its newest events in a SIGKILL) | ${regressions} |`,
    '',
    '## Faults',
    '',
    '| kind | injected | survived | recovery (max) |',
    '|---|---|---|---|',
    ...[...byKind].map(
      ([kind, fs]) =>
        `| ${kind} | ${fs.length} | ${fs.filter((f) => f.survived).length} | ${Math.max(...fs.map((f) => f.recoveryMs))} ms |`,
    ),
    '',
    'Recovery = from injection until every gateway is ready and every client connected, and then every client',
    'has every event published up to that moment. A rolling drain SIGTERMs each replaceable gateway in turn, starting its',
    'replacement and waiting for recovery before the next; its recovery time covers the whole roll.',
    '',
    '<details><summary>Every fault</summary>',
    '',
    ...r.faults.map(
      (f) =>
        `- ${(f.at / 1000).toFixed(0)} s: ${f.what} — ${f.survived ? `recovered in ${f.recoveryMs} ms` : 'NOT recovered'}`,
    ),
    '',
    '</details>',
    '',
    '## Gateway memory',
    '',
    `${r.anchor} runs from start to end and is never faulted; the others are fault victims, replaced at each`,
    `gateway fault. Slope: least squares over ${r.anchor}'s samples (every 10 s) after a warm-up of`,
    `${(r.warmupMs / 60000).toFixed(1)} min (${steady.length} samples)` +
      (steady.length < 180 ? '; over less than 30 minutes the GC cycle dominates it and it says little.' : '.'),
    '',
    `| ${r.anchor} after warm-up | heap used | RSS |`,
    '|---|---|---|',
    `| slope | ${slope(heapSlope)} | ${slope(rssSlope)} |`,
    `| first → last | ${mb(steady[0]?.heap ?? Number.NaN)} → ${mb(steady[steady.length - 1]?.heap ?? Number.NaN)} | ${mb(steady[0]?.rss ?? Number.NaN)} → ${mb(steady[steady.length - 1]?.rss ?? Number.NaN)} |`,
    `| min / max | ${mb(Math.min(...steady.map((s) => s.heap)))} / ${mb(Math.max(...steady.map((s) => s.heap)))} | ${mb(Math.min(...steady.map((s) => s.rss)))} / ${mb(Math.max(...steady.map((s) => s.rss)))} |`,
    '',
    `<details><summary>${r.anchor} over time</summary>`,
    '',
    '| at (min:s) | heap used | RSS | connections |',
    '|---|---|---|---|',
    ...thin(anchor, 25).map((s) => `| ${minSec(s.at)} | ${mb(s.heap)} | ${mb(s.rss)} | ${s.connections} |`),
    '',
    '</details>',
    '',
    '| instance | RSS first → last (max) | heap used first → last | connections first → last | sampled over |',
    '|---|---|---|---|---|',
    ...r.memory.map(({ name, samples }) => {
      const first = samples[0];
      const last = samples[samples.length - 1];
      if (!first || !last) return `| ${name} | n/a | n/a | n/a | 0 s |`;
      return `| ${name} | ${mb(first.rss)} → ${mb(last.rss)} (${mb(Math.max(...samples.map((s) => s.rss)))}) | ${mb(first.heap)} → ${mb(last.heap)} | ${first.connections} → ${last.connections} | ${((last.at - first.at) / 1000).toFixed(0)} s |`;
    }),
    '',
    '## Redis after the clients left',
    '',
    'Limiter = the per-IP connection hashes (slots counted while their lease is live). Data keys = every other',
    'key (seqs, entity state, recent events, history streams, API keys); their size is MEMORY USAGE (exact).',
    'Baseline: gateways and publisher up, before any client connected. The history the run published stays',
    '(bounded by retention), so the comparison that matters is used_memory less the data keys.',
    '',
    '| | baseline | clients connected (end) | clients left |',
    '|---|---|---|---|',
    `| limiter keys / held slots | ${baseline.limiterKeys} / ${baseline.heldSlots} | ${withClients.limiterKeys} / ${withClients.heldSlots} | ${after.limiterKeys} / ${after.heldSlots} |`,
    `| used_memory | ${mb(baseline.usedMemory)} | ${mb(withClients.usedMemory)} | ${mb(after.usedMemory)} |`,
    `| data keys (count, MEMORY USAGE) | ${baseline.dataKeys}, ${mb(baseline.dataBytes)} | ${withClients.dataKeys}, ${mb(withClients.dataBytes)} | ${after.dataKeys}, ${mb(after.dataBytes)} |`,
    `| used_memory − data keys | ${mb(overhead(baseline))} | ${mb(overhead(withClients))} | ${mb(overhead(after))} |`,
    '',
    `Limiter back to baseline ${limiterBack ? `${(r.redis.releasedAfterMs / 1000).toFixed(1)} s after the clients closed` : 'NOT reached'}; ` +
      `used_memory − data keys ended ${overheadGrowth >= 0 ? '+' : '−'}${kib(Math.abs(overheadGrowth))} from its baseline ` +
      `(${overheadGrowth <= REDIS_OVERHEAD_TOLERANCE ? 'within' : 'OVER'} the ${kib(REDIS_OVERHEAD_TOLERANCE)} allowed).`,
    '',
    '## The soak’s own CPU',
    '',
    `Sampled every 10 s, % of one core (this machine has ${r.cores}, shared with the gateways, Redis and the`,
    'publisher). A client worker whose event loop stays free (delay p99 of a few ms) is not what limits the run.',
    '',
    '| process | CPU mean / max | event-loop delay p99: mean / max of intervals | event-loop delay max |',
    '|---|---|---|---|',
    `| orchestrator | ${pct(mean(orchestrator))} / ${pct(Math.max(...orchestrator))} | | |`,
    ...workers.map(
      (w, i) =>
        `| client worker ${i + 1} (${Math.ceil(r.clients / r.clientProcesses)} clients) | ${pct(mean(w.cpu))} / ${pct(Math.max(...w.cpu))} | ${mean(w.loopP99).toFixed(1)} / ${Math.max(...w.loopP99).toFixed(1)} ms | ${Math.max(...w.loopMax).toFixed(0)} ms |`,
    ),
    `| soak total | ${pct(mean(soakTotal))} / ${pct(Math.max(...soakTotal))} | | |`,
    `| ${r.anchor} (for scale) | ${pct(anchorCpu)} mean | | |`,
    '',
    `Client cost: ${(r.clientCpuMicros / Math.max(1, r.eventsReceived)).toFixed(1)} µs of CPU per event received ` +
      `(all client work: connects, resumes, frames), so ${r.clients} clients at ` +
      `${((r.eventsReceived / r.clients / r.durationMs) * 1000).toFixed(0)} events/s each need ` +
      `${pct((r.clientCpuMicros * 100) / (r.durationMs * 1000))} of one core.`,
    '',
    `Machine load average (1 min) over the run: mean ${mean(r.cpu.map((c) => c.load1)).toFixed(1)}, max ` +
      `${Math.max(...r.cpu.map((c) => c.load1)).toFixed(1)} on ${r.cores} cores: a worker with low CPU but a long ` +
      'event-loop delay was waiting for a core, not busy.',
    '',
    '## Gateway recovery log',
    '',
    `${r.recoveryLog.filter((l) => l.includes('gap filled')).length} subscription gaps filled from history, ` +
      `${r.recoveryLog.filter((l) => l.includes('sequence gap')).length} resolved by resync ` +
      `(${regressions} of them a seq that went backwards: Redis restarted without events the gateways had already fanned out).`,
    '',
    ...r.recoveryLog.slice(0, 40).map((l) => `- \`${l}\``),
    '',
    '## Errors',
    '',
    ...(r.errors.length === 0 ? ['None.'] : r.errors.slice(0, 50).map((e) => `- ${e}`)),
    '',
    `Expected error-level log lines (publisher \`publish failed: backplane unavailable\`, answered 503 while Redis was down): ${r.expectedErrorLogs}.`,
    '',
  ];
  return lines.join('\n');
}
