import type { Scope } from '@hydra/protocol';

export interface FaultRecord {
  kind: string;
  what: string;
  /** ms since the start of the run */
  at: number;
  recoveryMs: number;
  survived: boolean;
}

export interface MemorySample {
  name: string;
  first: { rss: number; heap: number; connections: number; at: number };
  last: { rss: number; heap: number; connections: number; at: number };
  maxRss: number;
}

export interface SoakResult {
  date: string;
  minutes: number;
  durationMs: number;
  clients: number;
  sourceIps: number;
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
  faults: FaultRecord[];
  memory: MemorySample[];
  errors: string[];
}

const mb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)} MiB` : 'n/a');
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

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
  const verdict =
    lost === 0 && duplicates === 0 && !unexplainedResyncs && survived === r.faults.length && r.errors.length === 0;
  const byKind = new Map<string, FaultRecord[]>();
  for (const f of r.faults) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
  const lines = [
    `# Soak report — ${r.date}`,
    '',
    `\`pnpm soak --minutes ${r.minutes} --clients ${r.clients}\`: its own Redis (AOF, \`appendfsync always\`), 2 gateways,`,
    '1 publisher with the demo feed plus an ingest stream of the soak, lean clients spread over source IPs that',
    'check seq continuity and reconnect with `resume`; faults injected on a schedule.',
    '',
    `**Verdict: ${verdict ? 'PASS' : 'FAIL'}** — ${lost} events lost, ${duplicates} duplicated, ${resyncs} resyncs, ` +
      `${survived}/${r.faults.length} faults survived, ${r.errors.length} errors.`,
    '',
    '## Summary',
    '',
    '| | |',
    '|---|---|',
    `| duration | ${(r.durationMs / 60000).toFixed(1)} min |`,
    `| clients (source IPs) | ${r.clients} (${r.sourceIps}) |`,
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
    'Recovery = from injection until both gateways are ready, every client is connected and has every event',
    'published up to that moment.',
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
    'The first gateway runs from start to end; the second is the fault victim, replaced at each gateway fault.',
    '',
    '| instance | RSS first → last (max) | heap used first → last | connections first → last | sampled over |',
    '|---|---|---|---|---|',
    ...r.memory.map(
      (m) =>
        `| ${m.name} | ${mb(m.first.rss)} → ${mb(m.last.rss)} (${mb(m.maxRss)}) | ${mb(m.first.heap)} → ${mb(m.last.heap)} | ${m.first.connections} → ${m.last.connections} | ${((m.last.at - m.first.at) / 1000).toFixed(0)} s |`,
    ),
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
