/** Turns a run's raw results into the JSON file, the markdown tables and the SVG charts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { type CompressionPoint, compressionReport } from './compression-scenario.js';
import type { IdleMemory, LoadPoint, ScaleOut, StormResult } from './scenarios.js';
import { median, ratioBeyondNoise, relativeSpread } from './stats.js';
import { groupedBarChart, lineChart } from './svg.js';
import { TARGET_LABEL, type TargetKind } from './targets.js';

export interface RunResults {
  date: string;
  mode: 'quick' | 'full';
  machine: {
    cores: number;
    cpuModel: string;
    /** The checkout measured (absent in reports written before it was recorded). */
    commit?: string;
    node: string;
    loadavgStart: number[];
    loadavgEnd: number[];
    taskset: boolean;
    fdLimit: string;
  };
  rounds: number;
  /** Publisher burst interval (ms). */
  burstMs: number;
  durationS: number;
  fanout: LoadPoint[];
  /** Scenario 1 again at 75k/s with the events published in larger, rarer bursts (batched ingest). */
  fanoutBatched?: LoadPoint[];
  batchedBurstMs?: number;
  scopes: LoadPoint[];
  idle: IdleMemory[];
  storm: StormResult[];
  slow: Array<LoadPoint & { rssStartMb: number }>;
  scale: ScaleOut[];
  /** Scenario 7 (compression-scenario.ts); absent in reports written before it existed. */
  compression?: CompressionPoint[];
  skipped: string[];
  notes: string[];
}

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const k = (n: number) => (Number.isFinite(n) ? `${(n / 1000).toFixed(1)}k` : '–');

/** Instances in display order (hydra, hydra#2, then peers). */
function instances(points: ReadonlyArray<{ instance: string }>): string[] {
  const seen = [...new Set(points.map((p) => p.instance))];
  const first = ['hydra', 'hydra#2', 'hydra-coalesced'];
  const rank = (s: string) => (first.includes(s) ? first.indexOf(s) : first.length);
  return seen.sort((a, b) => rank(a) - rank(b));
}

function label(instance: string): string {
  const [kind, n] = instance.split('#');
  const base = TARGET_LABEL[kind as TargetKind] ?? instance;
  return n ? `${base} (run ${n})` : base;
}

/** Median over rounds of one metric, per instance and offered load. */
function medianAt(points: readonly LoadPoint[], instance: string, offered: number, key: keyof LoadPoint): number {
  return median(
    points.filter((p) => p.instance === instance && p.offered === offered).map((p) => Number(p[key] as number)),
  );
}

/** Knee: highest offered load with no loss and p99 < 100 ms (medians over rounds). */
export function knee(points: readonly LoadPoint[], instance: string): number {
  return kneeOf(points, instance).load;
}

/**
 * The knee, and whether the first load above it that failed was client-bound
 * (the load generator's core was saturated, so the server's own limit may be
 * higher: reported as "≥").
 */
export function kneeOf(points: readonly LoadPoint[], instance: string): { load: number; clientBoundAbove: boolean } {
  const loads = [...new Set(points.filter((p) => p.instance === instance).map((p) => p.offered))].sort((a, b) => a - b);
  let best = 0;
  for (const l of loads) {
    const loss = medianAt(points, instance, l, 'loss');
    const p99 = medianAt(points, instance, l, 'p99');
    if (loss === 0 && p99 < 100) best = l;
  }
  const above = loads.find((l) => l > best);
  const clientBoundAbove =
    above !== undefined && points.some((p) => p.instance === instance && p.offered === above && p.clientBound);
  return { load: best, clientBoundAbove };
}

function kneeText(points: readonly LoadPoint[], instance: string, top: number | undefined): string {
  const { load, clientBoundAbove } = kneeOf(points, instance);
  if (load === 0) return clientBoundAbove ? 'none clean (client-bound)' : 'below the lowest load';
  if (load === top) return `${k(load)}+`;
  return clientBoundAbove ? `≥ ${k(load)} (client-bound above)` : k(load);
}

/**
 * The tables at one offered load: every server's figures, then the ratios
 * ours/peer where they exceed the noise between our two runs. `withKnee`:
 * the points span the load range (scenario 1), so the knee is known.
 */
function atLoadTables(points: readonly LoadPoint[], at: number, title: string, withKnee: boolean): string[] {
  const lines: string[] = [];
  const inst = instances(points);
  const topLoad = Math.max(...points.map((p) => p.offered));
  const noise = (key: keyof LoadPoint) =>
    inst.includes('hydra#2')
      ? relativeSpread(medianAt(points, 'hydra', at, key), medianAt(points, 'hydra#2', at, key))
      : Number.NaN;
  const noiseCpu = noise('cpuUsPerDelivery');
  const noiseUserCpu = noise('userCpuUsPerDelivery');
  const noiseP99 = noise('p99');
  lines.push(
    '',
    `### ${title}`,
    '',
    `| server | delivered/s | loss | p50 ms | p99 ms | p99.9 ms | server CPU (usr + sys) | CPU µs/delivery | msgs per client read | client core busy |${withKnee ? ' knee (no loss, p99 < 100 ms) |' : ''}`,
    `|---|---|---|---|---|---|---|---|---|---|${withKnee ? '---|' : ''}`,
  );
  for (const i of inst) {
    const cb = points.some((p) => p.instance === i && p.offered === at && p.clientBound) ? ' ⚠' : '';
    lines.push(
      `| ${label(i)} | ${k(medianAt(points, i, at, 'delivered'))} | ${f(medianAt(points, i, at, 'lossPct'), 2)}% | ` +
        `${f(medianAt(points, i, at, 'p50'))} | ${f(medianAt(points, i, at, 'p99'))} | ${f(medianAt(points, i, at, 'p999'))} | ` +
        `${f(medianAt(points, i, at, 'serverCpuPct'), 0)}% (${f(medianAt(points, i, at, 'serverUserPct'), 0)} + ${f(medianAt(points, i, at, 'serverSysPct'), 0)}) | ` +
        `${f(medianAt(points, i, at, 'cpuUsPerDelivery'), 2)} | ${f(medianAt(points, i, at, 'msgsPerRead'), 2)} | ` +
        `${f(medianAt(points, i, at, 'sideCoreBusyPct'), 0)}%${cb} |${withKnee ? ` ${kneeText(points, i, topLoad)} |` : ''}`,
    );
  }
  lines.push(
    '',
    'For servers built on uWS topics, CPU per delivery is mostly kernel time per socket write (send + loopback receive path, charged to the sender here) divided by the messages uWS packs into that write; ' +
      '"msgs per client read" is an upper bound on that packing. A saturated client core (⚠) delays Redis and the publisher, grows the bursts and so lowers those servers\' CPU per delivery: compare CPU figures only between rows without ⚠.',
  );
  const noiseText = Number.isFinite(noiseCpu)
    ? `Noise (Hydra run 1 vs run 2 at ${k(at)}/s): CPU/delivery ${(noiseCpu * 100).toFixed(0)}%, p99 ${(noiseP99 * 100).toFixed(0)}%.`
    : 'Noise: one Hydra instance only in this mode, so ratios carry no noise bound (run the full mode).';
  lines.push(
    '',
    noiseText,
    '',
    `| ratio ours/peer | CPU per delivery | user CPU per delivery (the server's own code) | p99 |${withKnee ? ' knee |' : ''}`,
    `|---|---|---|---|${withKnee ? '---|' : ''}`,
  );
  for (const ours of ['hydra', 'hydra-coalesced'].filter((x) => inst.includes(x))) {
    for (const i of inst.filter((x) => !x.startsWith('hydra'))) {
      const cell = (key: keyof LoadPoint, nz: number) => {
        const { ratio, significant } = ratioBeyondNoise(
          medianAt(points, ours, at, key),
          medianAt(points, i, at, key),
          Number.isFinite(nz) ? nz : 0,
        );
        return Number.isFinite(ratio) ? (significant ? `${f(ratio, 2)}×` : `≈ (${f(ratio, 2)}×, within noise)`) : '–';
      };
      const kOurs = knee(points, ours);
      const kPeer = knee(points, i);
      const kneeCell = withKnee ? ` ${kOurs > 0 && kPeer > 0 ? `${f(kOurs / kPeer, 2)}×` : '–'} |` : '';
      lines.push(
        `| ${label(ours)} vs ${label(i)} | ${cell('cpuUsPerDelivery', noiseCpu)} | ${cell('userCpuUsPerDelivery', noiseUserCpu)} | ${cell('p99', noiseP99)} |${kneeCell}`,
      );
    }
  }
  return lines;
}

function nearest(loads: number[], want: number): number {
  return loads.reduce((a, b) => (Math.abs(b - want) < Math.abs(a - want) ? b : a), loads[0] ?? want);
}

export interface IdleRow {
  instance: string;
  /** Median (RSS at N − baseline) / N per step, in the order of `steps`. */
  kbPerConnection: number[];
  /** Median slope between consecutive steps (one fewer than the steps). */
  slopes: number[];
  rssBaseMb: number;
  rssTopMb: number;
  /** Per step: some round's reading (or its baseline) was not calm at the wait's cap. */
  unsettled: boolean[];
  /** Median RSS change over the reading window at the largest step (last − first sample). */
  driftTopMb: number;
}

/** Scenario 3 per server: medians over rounds of growth / N at each step and of the slope between steps. */
export function idleSummary(idle: readonly IdleMemory[]): { steps: number[]; rows: IdleRow[] } {
  const steps = [...new Set(idle.map((x) => x.connections))].sort((a, b) => a - b);
  const top = steps[steps.length - 1];
  const rows = instances(idle).map((instance) => {
    const at = (n: number | undefined, key: keyof IdleMemory) =>
      median(idle.filter((x) => x.instance === instance && x.connections === n).map((x) => Number(x[key])));
    return {
      instance,
      kbPerConnection: steps.map((n) => at(n, 'kbPerConnection')),
      slopes: steps.slice(1).map((n) => at(n, 'kbPerConnectionMarginal')),
      rssBaseMb: median(idle.filter((x) => x.instance === instance).map((x) => x.rssBaseMb)),
      rssTopMb: at(top, 'rssMb'),
      driftTopMb: at(top, 'rssDriftMb'),
      unsettled: steps.map((n) =>
        idle.some((x) => x.instance === instance && x.connections === n && x.settled === false),
      ),
    };
  });
  return { steps, rows };
}

/** The issue's target (≤ 3 KB per idle authenticated connection, ≤ 1/5 of Socket.IO's) on the slope at the largest step. */
export function idleTargetLine(rows: readonly IdleRow[], steps: readonly number[]): string {
  const useSlope = steps.length > 1;
  const what = useSlope
    ? `the slope ${k(steps[steps.length - 2] ?? 0)}→${k(steps[steps.length - 1] ?? 0)}`
    : `growth / N at ${k(steps[0] ?? 0)} (one step only: no slope, the fixed cost is included)`;
  const value = (instance: string) => {
    const row = rows.find((x) => x.instance === instance);
    if (!row) return Number.NaN;
    return useSlope ? (row.slopes[row.slopes.length - 1] ?? Number.NaN) : (row.kbPerConnection[0] ?? Number.NaN);
  };
  const ours = ['hydra', 'hydra#2'].filter((i) => rows.some((x) => x.instance === i));
  if (ours.length === 0)
    return `Issue 6 target (≤ 3 KB per idle authenticated connection, ≤ 1/5 of Socket.IO's): no Hydra row.`;
  const sio = value('sio');
  const parts = ours.map((i) => {
    const v = value(i);
    const ratio = Number.isFinite(sio) && sio > 0 ? `, ${f(v / sio, 2)}× Socket.IO's` : '';
    const met = Number.isFinite(v) && v <= 3 && (!Number.isFinite(sio) || v <= sio / 5);
    return `${label(i)} ${f(v, 2)} KB${ratio} (${met ? 'met' : 'not met'})`;
  });
  return (
    `Issue 6 target (≤ 3 KB per idle authenticated connection, ≤ 1/5 of Socket.IO's), on ${what}: ${parts.join('; ')}` +
    `${Number.isFinite(sio) ? `; Socket.IO ${f(sio, 2)} KB` : '; no Socket.IO row in this run'}. One run on a shared machine: read it with the noise between the rows above.`
  );
}

export function writeReport(r: RunResults, dir: string): { json: string; md: string; svgs: string[] } {
  mkdirSync(dir, { recursive: true });
  const stem = `${dir}/${r.date}`;
  const json = `${stem}.json`;
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  const lines: string[] = [];
  const m = r.machine;
  const machineLine =
    `Code: ${m.commit ?? 'not recorded'}. Machine: ${m.cores} cores (${m.cpuModel}), Node ${m.node}, load average ${m.loadavgStart.map((x) => x.toFixed(2)).join(' ')} at start, ` +
    `${m.loadavgEnd.map((x) => x.toFixed(2)).join(' ')} at end; server pinned to core 0, clients + publisher + Redis on core 1` +
    `${m.taskset ? '' : ' (taskset unavailable: NOT pinned)'}; fd limit ${m.fdLimit}. ` +
    `Mode ${r.mode}, ${r.rounds} round(s), ${Math.round(r.durationS)} s. Load shape: the events due are published as one burst every ${r.burstMs} ms, the same for every server. ` +
    "Absolute numbers are this machine's.";
  lines.push(`# Hydra bench — ${r.date} (${r.mode})`, '', machineLine, '');

  const svgs: string[] = [];
  // Scenario 1
  if (r.fanout.length > 0) {
    const inst = instances(r.fanout);
    const loads = [...new Set(r.fanout.map((p) => p.offered))].sort((a, b) => a - b);
    lines.push(
      '## 1. Steady fan-out, 1,000 clients, one scope',
      '',
      'Median over rounds. Cell: delivered/s · p99 ms · server CPU % (loss % when > 0; ⚠ = client-bound).',
      '',
    );
    lines.push(`| offered/s | ${inst.map(label).join(' | ')} |`, `|---|${inst.map(() => '---').join('|')}|`);
    for (const l of loads) {
      const cells = inst.map((i) => {
        const d = medianAt(r.fanout, i, l, 'delivered');
        const p99 = medianAt(r.fanout, i, l, 'p99');
        const cpu = medianAt(r.fanout, i, l, 'serverCpuPct');
        const loss = medianAt(r.fanout, i, l, 'lossPct');
        const cb = r.fanout.some((p) => p.instance === i && p.offered === l && p.clientBound) ? ' ⚠' : '';
        return `${k(d)} · ${f(p99)} · ${f(cpu, 0)}%${loss > 0 ? ` · loss ${f(loss, 2)}%` : ''}${cb}`;
      });
      lines.push(`| ${k(l)} | ${cells.join(' | ')} |`);
    }
    lines.push(...atLoadTables(r.fanout, nearest(loads, 75_000), `At ${k(nearest(loads, 75_000))} deliveries/s`, true));
    const batched = r.fanoutBatched ?? [];
    if (batched.length > 0) {
      lines.push(
        ...atLoadTables(
          batched,
          nearest([...new Set(batched.map((p) => p.offered))], 75_000),
          `The same load, batched ingest: the events due published every ${r.batchedBurstMs} ms`,
          false,
        ),
        '',
        `A feed that arrives in batches (an ADS-B or AIS poller posting every few seconds, one \`POST /v1/events\` array) reaches the gateways as bursts; ` +
          'uWS then writes a burst to each client in one socket write, so the kernel cost per delivery falls with the burst size, while a server doing per-message work in JS (Socket.IO, ws, soketi) gains little.',
      );
    }
    const series = (key: keyof LoadPoint) =>
      inst.map((i) => ({ name: label(i), points: loads.map((l) => [l, medianAt(r.fanout, i, l, key)] as const) }));
    writeFileSync(
      `${stem}-p99.svg`,
      lineChart({
        title: `p99 latency vs offered load (1,000 clients) — ${r.date}`,
        xLabel: 'offered deliveries/s',
        yLabel: 'p99 latency (ms, log)',
        series: series('p99'),
        logY: true,
      }),
    );
    writeFileSync(
      `${stem}-delivered.svg`,
      lineChart({
        title: `Delivered vs offered load (1,000 clients) — ${r.date}`,
        xLabel: 'offered deliveries/s',
        yLabel: 'delivered/s',
        series: series('delivered'),
      }),
    );
    svgs.push(`${stem}-p99.svg`, `${stem}-delivered.svg`);
    lines.push('', `![p99](${r.date}-p99.svg)`, `![delivered](${r.date}-delivered.svg)`, '');
  }
  // Scenario 2
  if (r.scopes.length > 0) {
    lines.push(
      '## 2. Scope filtering: 5 scopes, clients hold 1–5 of them',
      '',
      '| server | offered/s | delivered/s | loss | p99 ms | server CPU | CPU µs/delivery |',
      '|---|---|---|---|---|---|---|',
    );
    for (const i of instances(r.scopes)) {
      const ps = r.scopes.filter((p) => p.instance === i);
      const md = (key: keyof LoadPoint) => median(ps.map((p) => Number(p[key])));
      lines.push(
        `| ${label(i)} | ${k(md('offered'))} | ${k(md('delivered'))} | ${f(md('lossPct'), 2)}% | ${f(md('p99'))} | ${f(md('serverCpuPct'), 0)}% | ${f(md('cpuUsPerDelivery'), 2)} |`,
      );
    }
    lines.push('');
  }
  // Scenario 3
  if (r.idle.length > 0) {
    const { steps, rows } = idleSummary(r.idle);
    const top = steps[steps.length - 1] ?? 0;
    const pairs = steps.slice(1).map((to, j) => [steps[j] as number, to] as const);
    const settle = median(r.idle.map((x) => x.settleMs));
    lines.push(
      '## 3. Idle memory: RSS growth per connection (pings on)',
      '',
      `Median over rounds. Baseline: the server with no client, read after the same wait as every step (${Number.isFinite(settle) ? `at least ${f(settle / 1000, 0)} s, ` : ''}then until RSS is calm). ` +
        '"at N": (RSS at N − baseline) / N, the fixed cost of having any client included; "slope": RSS growth between two steps / the connections added, the cost of one more idle connection. ' +
        '"drift while read": RSS change over the sampling window at the largest step; a large drift means that server\'s RSS still climbs between GCs while idle (its reading depends on where in its GC cycle it falls). ' +
        "* = a reading (or its baseline) not calm by the end of the wait. † = negative: V8 shrank that server's heap only after the earlier reading (which still held start-up or connect garbage), so the figure is no memory cost. Method: see Notes.",
      '',
      `| server | ${steps.map((x) => `KB/conn at ${k(x)} (growth / N)`).join(' | ')} | ${pairs.map(([a, b]) => `KB/conn slope ${k(a)}→${k(b)}`).join(' | ')}${pairs.length > 0 ? ' | ' : ''}RSS baseline → at ${k(top)} (drift while read) |`,
      `|---|${steps.map(() => '---').join('|')}|${pairs.map(() => '---|').join('')}---|`,
    );
    for (const row of rows) {
      lines.push(
        `| ${label(row.instance)} | ${row.kbPerConnection.map((x, j) => `${f(x, 2)}${row.unsettled[j] ? ' *' : ''}${x < 0 ? ' †' : ''}`).join(' | ')} | ${row.slopes.map((x, j) => `${f(x, 2)}${row.unsettled[j] || row.unsettled[j + 1] ? ' *' : ''}${x < 0 ? ' †' : ''}`).join(' | ')}${row.slopes.length > 0 ? ' | ' : ''}${f(row.rssBaseMb, 0)} → ${f(row.rssTopMb, 0)} MB (${row.driftTopMb >= 0 ? '+' : ''}${f(row.driftTopMb, 1)}) |`,
      );
    }
    lines.push('', idleTargetLine(rows, steps));
    const legend =
      pairs.length > 0
        ? [`growth from baseline / N at ${k(top)}`, `slope ${k(pairs[pairs.length - 1]?.[0] ?? 0)}→${k(top)}`]
        : [`growth from baseline / N at ${k(top)}`];
    const groups = rows.map((row) => ({
      name: label(row.instance).replace(/ \+ .*/, ''),
      values: [row.kbPerConnection[row.kbPerConnection.length - 1] ?? Number.NaN, ...row.slopes.slice(-1)],
    }));
    writeFileSync(
      `${stem}-memory.svg`,
      groupedBarChart({
        title: `RSS growth per idle connection — ${r.date}`,
        yLabel: 'KB per connection',
        legend,
        groups,
      }),
    );
    svgs.push(`${stem}-memory.svg`);
    lines.push('', `![memory](${r.date}-memory.svg)`, '');
  }
  // Scenario 4
  if (r.storm.length > 0) {
    lines.push(
      '## 4. Connect storm (Hydra): clients connect at once while the aircraft scope is live',
      '',
      '| clients | entities | upgraded | connects/s | all snapshots after | complete | snapshot reads / state versions | Redis cmds/connect (gateway calls) | seq gaps/dups | server CPU s | RSS |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of r.storm) {
      lines.push(
        `| ${s.clients} | ${s.entities} | ${s.connected} | ${f(s.connectsPerSec, 0)} | ${f(s.allSnapshotsMs / 1000, 1)} s | ${s.completeSnapshots ? 'yes' : `NO (${s.snapshots} whole snapshots, ${s.snapshotItems} items)`} | ` +
          `${s.snapshotReads} / ${s.snapshotVersions ?? '–'} | ${f(s.redisCommandsPerConnect, 2)} (${f(s.gatewayRedisCallsPerConnect ?? Number.NaN, 2)}) | ${s.seqGaps}/${s.seqDups} | ${f(s.serverCpuS, 1)} | ${f(s.serverRssMb, 0)} MB |`,
      );
    }
    const last = r.storm[r.storm.length - 1];
    if (last)
      lines.push(
        '',
        `Redis commands for the connects (storm minus the live feed's baseline rate; Redis counts the commands a Lua script runs, so one limiter acquire is EVALSHA + TIME + HGETALL + HSET + PEXPIRE): \`${JSON.stringify(last.redisCommands)}\`. ` +
          "Gateway calls: the gateway's own timed Redis round trips (key lookups behind the key cache, limiter acquires, snapshot reads) per connect. " +
          'Snapshot reads are coalesced: at most one read of the scope per state version the clients ask for, whatever the number of clients; each read is serialised once into chunks every client shares.',
      );
    lines.push('');
  }
  // Scenario 5
  if (r.slow.length > 0) {
    lines.push(
      '## 5. Slow consumers: 1% of clients stop reading',
      '',
      '| server | offered/s | payload | healthy p99 ms | loss (all clients) | slow clients closed | RSS start → end |',
      '|---|---|---|---|---|---|---|',
    );
    for (const s of r.slow) {
      lines.push(
        `| ${label(s.instance)} | ${k(s.offered)} | ~2 KB | ${f(s.p99)} | ${f(s.lossPct, 2)}% | ${s.pausedClosed ?? 0} | ${f(s.rssStartMb, 0)} → ${f(s.serverRssMb, 0)} MB |`,
      );
    }
    lines.push('');
  }
  // Scenario 6
  if (r.scale.length > 0) {
    lines.push(
      '## 6. Scale-out: Hydra gateways on one Redis (all on the server core)',
      '',
      '| gateways | offered/s | delivered/s | loss | p99 ms | CPU of all gateways |',
      '|---|---|---|---|---|---|',
    );
    for (const s of r.scale) {
      lines.push(
        `| ${s.gateways} | ${k(s.offered)} | ${k(s.delivered)} | ${f(s.lossPct, 2)}% | ${f(s.p99)} | ${f(s.totalServerCpuPct, 0)}% |`,
      );
    }
    lines.push('');
  }
  lines.push(...compressionReport(r.compression ?? []));
  if (r.skipped.length > 0) lines.push('## Skipped', '', ...r.skipped.map((s) => `- ${s}`), '');
  if (r.notes.length > 0) lines.push('## Notes', '', ...r.notes.map((s) => `- ${s}`), '');
  const md = `${stem}.md`;
  writeFileSync(md, `${lines.join('\n')}\n`);
  return { json, md, svgs };
}
