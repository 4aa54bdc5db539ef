/** The rows, tables and summary of the regions bench (regions.ts); pure, so the tests check the arithmetic. */
import { median } from './stats.js';

/** unfiltered; bbox: every client asks for one box; map-on: unfiltered plus one bbox client holding the tile map on. */
export const REGION_PHASES = ['unfiltered', 'bbox', 'map-on'] as const;
export type RegionPhase = (typeof REGION_PHASES)[number];

export const PHASE_LABELS: Record<RegionPhase, string> = {
  unfiltered: 'unfiltered',
  bbox: 'bbox (5% boxes)',
  'map-on': 'unfiltered, tile map on',
};

export interface RegionsRow {
  round: number;
  /** Which gateway build: `this` (apps/gateway/dist) or `before` (--before-dist). */
  build: string;
  phase: RegionPhase;
  clients: number;
  /** Events the publisher sent per second during the window. */
  eventsPerSec: number;
  bytesPerClientPerSec: number;
  messagesPerClientPerSec: number;
  /**
   * Socket reads per client per second: about the gateway's writes to each
   * client (uWS writes what a client got in one event-loop turn at once), the
   * unit most of its CPU goes by (a loopback send, system time).
   */
  readsPerClientPerSec: number;
  gatewayCpuPct: number;
  /** Gateway CPU (user, system) per event published, in µs: for all the phase's clients together. */
  userUsPerEvent: number;
  sysUsPerEvent: number;
  p99AgeMs: number;
  p50AgeMs: number;
  drops: number;
  /** Live-event bytes the gateway handed to uWS (hydra_bytes_delivered_total) per client per second. */
  gatewayBytesPerClientPerSec: number;
  /** Messages without the payload fields (removals, resyncs) per client per second. */
  otherMessagesPerClientPerSec: number;
  resyncs: number;
  /** The machine's 1-minute load average at the end of the window. */
  loadAvg: number;
}

export const cpuUsPerEvent = (r: RegionsRow): number => r.userUsPerEvent + r.sysUsPerEvent;
const bytesPerEvent = (r: RegionsRow): number => r.bytesPerClientPerSec / r.eventsPerSec;

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

export function fmtRow(r: RegionsRow): string {
  return (
    `round ${r.round} ${r.build} ${PHASE_LABELS[r.phase]}: ${r.clients} clients, ${f(r.eventsPerSec, 0)} events/s published, ` +
    `${f(r.bytesPerClientPerSec, 0)} B/client/s (${f(r.messagesPerClientPerSec, 1)} msg, ${f(r.otherMessagesPerClientPerSec, 1)} without payload, ` +
    `${f(r.readsPerClientPerSec, 1)} socket reads; ` +
    `gateway-side ${f(r.gatewayBytesPerClientPerSec, 0)} B), resyncs ${r.resyncs}, gateway CPU ${f(r.gatewayCpuPct)}% ` +
    `(${f(cpuUsPerEvent(r), 1)} µs/event: user ${f(r.userUsPerEvent, 1)}, sys ${f(r.sysUsPerEvent, 1)}), ` +
    `event age p50 ${f(r.p50AgeMs, 2)} ms p99 ${f(r.p99AgeMs, 2)} ms, drops ${r.drops}, load ${f(r.loadAvg, 2)}`
  );
}

/** Every phase of every round, in the order run. */
export function regionsRowsTable(rows: readonly RegionsRow[]): string {
  const head =
    '| round | build | phase | clients | events/s published | bytes/client/s | messages/client/s | socket reads/client/s | gateway CPU % of a core | CPU µs per event (user + sys) | event age p50 / p99 ms | drops | resyncs | load avg |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  return (
    head +
    rows
      .map(
        (r) =>
          `| ${r.round} | ${r.build} | ${PHASE_LABELS[r.phase]} | ${r.clients} | ${f(r.eventsPerSec, 0)} | ${f(r.bytesPerClientPerSec, 0)} | ${f(r.messagesPerClientPerSec, 1)} | ${f(r.readsPerClientPerSec, 1)} | ${f(r.gatewayCpuPct)} | ${f(cpuUsPerEvent(r), 1)} (${f(r.userUsPerEvent, 1)} + ${f(r.sysUsPerEvent, 1)}) | ${f(r.p50AgeMs, 1)} / ${f(r.p99AgeMs, 1)} | ${r.drops} | ${r.resyncs} | ${f(r.loadAvg, 2)} |`,
      )
      .join('\n')
  );
}

export interface RegionsSummary {
  build: string;
  rounds: number;
  /** Medians over the rounds of the gateway's CPU µs per event published, per phase. */
  cpuUs: Record<RegionPhase, number>;
  userUs: Record<RegionPhase, number>;
  /** Medians over the rounds of the socket reads per client per second (about the gateway's writes), per phase. */
  reads: Record<RegionPhase, number>;
  /** Medians of the per-round ratios to the same round's unfiltered phase (CPU per event). */
  cpuRatio: Record<RegionPhase, number>;
  /** Median of the per-round bytes/client per event, bbox ÷ unfiltered. */
  bytesRatio: number;
  /** Median of the per-round (map-on − unfiltered) CPU and user CPU µs per event: what the tile map adds per event. */
  tilePathUs: number;
  tilePathUserUs: number;
  eventsPerSec: number;
  loadAvg: { median: number; min: number; max: number };
}

const byPhase = (fn: (p: RegionPhase) => number) =>
  Object.fromEntries(REGION_PHASES.map((p) => [p, fn(p)])) as Record<RegionPhase, number>;

/**
 * Per build: medians over the rounds. Ratios and differences are taken within
 * a round first (its phases ran back to back, so they share the machine's
 * load), then the median over the rounds.
 */
export function summarise(rows: readonly RegionsRow[]): RegionsSummary[] {
  const builds = [...new Set(rows.map((r) => r.build))];
  return builds.map((build) => {
    const mine = rows.filter((r) => r.build === build);
    const rounds = [...new Set(mine.map((r) => r.round))];
    const at = (round: number, phase: RegionPhase) => mine.find((r) => r.round === round && r.phase === phase);
    const perRound = (fn: (round: number) => number) => median(rounds.map(fn));
    const ratio = (phase: RegionPhase, value: (r: RegionsRow) => number) =>
      perRound((round) => {
        const base = at(round, 'unfiltered');
        const row = at(round, phase);
        return base && row ? value(row) / value(base) : Number.NaN;
      });
    const tilePath = (value: (r: RegionsRow) => number) =>
      perRound((round) => {
        const base = at(round, 'unfiltered');
        const row = at(round, 'map-on');
        return base && row ? value(row) - value(base) : Number.NaN;
      });
    const loads = mine.map((r) => r.loadAvg).filter(Number.isFinite);
    return {
      build,
      rounds: rounds.length,
      cpuUs: byPhase((p) => median(mine.filter((r) => r.phase === p).map(cpuUsPerEvent))),
      userUs: byPhase((p) => median(mine.filter((r) => r.phase === p).map((r) => r.userUsPerEvent))),
      reads: byPhase((p) => median(mine.filter((r) => r.phase === p).map((r) => r.readsPerClientPerSec))),
      cpuRatio: byPhase((p) => ratio(p, cpuUsPerEvent)),
      bytesRatio: ratio('bbox', bytesPerEvent),
      tilePathUs: tilePath(cpuUsPerEvent),
      tilePathUserUs: tilePath((r) => r.userUsPerEvent),
      eventsPerSec: median(mine.map((r) => r.eventsPerSec)),
      loadAvg: { median: median(loads), min: Math.min(...loads), max: Math.max(...loads) },
    };
  });
}

export function regionsSummaryTable(summaries: readonly RegionsSummary[]): string {
  const head =
    '| build | rounds | events/s (median) | gateway CPU µs/event: unfiltered / bbox / tile map on (medians; user part) | **bbox ÷ unfiltered (CPU)** | tile map on ÷ unfiltered (CPU) | tile map cost µs/event (all; user) | bytes/client, bbox ÷ unfiltered | socket reads/client/s: unfiltered / bbox / tile map on | load avg median (min–max) |\n' +
    '|---|---|---|---|---|---|---|---|---|---|\n';
  return (
    head +
    summaries
      .map(
        (s) =>
          `| ${s.build} | ${s.rounds} | ${f(s.eventsPerSec, 0)} | ${REGION_PHASES.map((p) => `${f(s.cpuUs[p], 0)} (${f(s.userUs[p], 0)})`).join(' / ')} | **${f(s.cpuRatio.bbox, 2)}** | ${f(s.cpuRatio['map-on'], 2)} | ${f(s.tilePathUs, 1)}; ${f(s.tilePathUserUs, 1)} | ${f(s.bytesRatio, 3)} | ${REGION_PHASES.map((p) => f(s.reads[p], 1)).join(' / ')} | ${f(s.loadAvg.median, 1)} (${f(s.loadAvg.min, 1)}–${f(s.loadAvg.max, 1)}) |`,
      )
      .join('\n')
  );
}
