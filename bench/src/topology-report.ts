/** The markdown report of the topology mode (topology.ts): per-round rows, medians, and cluster ÷ one Redis. */
import { SCOPES } from '@hydra/protocol';
import type { RedisTopology, ShardFigures, TopologyName } from './redis-topology.js';
import { median } from './stats.js';
import type { DeliveryTopologyRow, IngestTopologyRow, TopologyOptions } from './topology-rows.js';

export interface TopologyReportInput {
  options: TopologyOptions;
  /** Load average (1, 5, 15 min) at start and end. */
  load: [number[], number[]];
  topologies: readonly RedisTopology[];
  ingest: readonly IngestTopologyRow[];
  delivery: readonly DeliveryTopologyRow[];
  method: { batch: number; warmupMs: number; minBatches: number; maxWindowMs: number; idleWindowMs: number };
}

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const ratio = (a: number, b: number) => f(a / b, 2) + '×';

/**
 * One shard's figures in a cell: port, scopes, µs per event, its share of the events, its CPU as % of
 * one core (and, when measured, in the idle window).
 */
function shardCell(shards: readonly ShardFigures[], elapsedS: number, idleCorePct?: readonly number[]): string {
  const all = shards.reduce((s, x) => s + x.events, 0);
  return shards
    .map(
      (s, i) =>
        `:${s.address.split(':')[1]} (${s.scopes.length === SCOPES.length ? 'all' : s.scopes.join(', ') || 'none'}) ` +
        `**${f(s.cpuUsPerEvent, 2)}** µs, ${f(all > 0 ? (100 * s.events) / all : Number.NaN, 0)}% of events, ` +
        `${f((100 * s.cpuUs) / 1e6 / elapsedS, 0)}% core` +
        (idleCorePct === undefined ? '' : ` (idle ${f(idleCorePct[i] ?? Number.NaN, 1)}%)`),
    )
    .join('<br>');
}

const hottestCorePct = (r: { shards: readonly ShardFigures[]; elapsedS: number }) =>
  Math.max(...r.shards.map((s) => (100 * s.cpuUs) / 1e6 / r.elapsedS));

export function topologyReport(input: TopologyReportInput): string {
  const { options: o, load, topologies, ingest, delivery, method: m } = input;
  const label = (name: TopologyName) => topologies.find((t) => t.name === name)?.label ?? name;
  const lines = [
    '# Ingest and delivery: one Redis against a 3-master Redis Cluster (issue 15)',
    '',
    `${o.rounds} interleaved rounds (the topology that goes first alternates); both topologies run for the whole run, every Redis process pinned to core 1 with the load generator, publishers and gateways to core 0.`,
    `Load average at start ${load[0].map((x) => x.toFixed(1)).join(' / ')}, at end ${load[1].map((x) => x.toFixed(1)).join(' / ')} (1 / 5 / 15 min; 2 cores, shared).`,
    '',
    "Redis CPU per event per shard: that master's own CPU (INFO cpu, user + sys) over the measured window, divided by the events stored in the scopes it holds (the growth of their seq over the same window); the sum column is all shards' CPU over all events. % core: the shard's CPU over the window's wall time (100% = one core, the ceiling of that shard).",
    'On this box every Redis process shares one core, so the cluster cannot show its throughput gain here; what carries over is the CPU per event of each shard and how the scopes spread over the masters.',
    '',
    '## Scope placement',
    '',
    `Keys and channels of a scope share its \`{scope}\` hash tag (packages/backplane/src/redis-keys.ts), so one master holds each scope; the cluster's placement is the backplane's own (\`RedisBackplane.scopePlacement\`, the gateway's \`scope placement\` start-up line).`,
    '',
    `| scope | ${topologies.map((t) => t.label).join(' | ')} |`,
    `|---|${topologies.map(() => '---').join('|')}|`,
    ...SCOPES.map((s) => `| ${s} | ${topologies.map((t) => t.placement[s]).join(' | ')} |`),
    '',
    '## Ingest',
    '',
    `Real publisher processes (apps/publisher), ${o.inFlight} batches in flight each; every request is a ${m.batch.toLocaleString('en')}-event NDJSON batch, ${m.batch / SCOPES.length} events of each scope (aircraft and vessels cycling over 10,000 ids, signals, alerts and cyber with unique ids). Per row at least ${o.seconds} s and ${m.minBatches} answered batches (at most ${m.maxWindowMs / 1000} s), after ${m.warmupMs} ms warm-up; every shard is flushed before each row.`,
    '',
    '| round | topology | publishers | events/s | Redis CPU µs/event per shard | Redis CPU µs/event, all shards | publisher CPU µs/event | batch p50 ms | batch p99 ms | errors |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...ingest.map(
      (r) =>
        `| ${r.round} | ${label(r.topology)} | ${r.publishers} | ${f(r.eventsPerSec, 0)} | ${shardCell(r.shards, r.elapsedS)} | ${f(r.redisCpuUsPerEvent, 2)} | ${f(r.publisherCpuUsPerEvent, 1)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${r.errors} |`,
    ),
    '',
    '### Ingest, medians over the rounds',
    '',
    '| topology | publishers | events/s | Redis CPU µs/event, all shards | hottest shard, % core | publisher CPU µs/event | batch p99 ms |',
    '|---|---|---|---|---|---|---|',
  ];
  const groups = [...new Set(ingest.map((r) => r.publishers))];
  const ingestMedian = (name: TopologyName, publishers: number) => {
    const rows = ingest.filter((r) => r.topology === name && r.publishers === publishers);
    return {
      eventsPerSec: median(rows.map((r) => r.eventsPerSec)),
      redis: median(rows.map((r) => r.redisCpuUsPerEvent)),
      hottest: median(rows.map(hottestCorePct)),
      publisher: median(rows.map((r) => r.publisherCpuUsPerEvent)),
      p99: median(rows.map((r) => r.p99Ms)),
    };
  };
  for (const publishers of groups) {
    for (const t of topologies) {
      const x = ingestMedian(t.name, publishers);
      lines.push(
        `| ${t.label} | ${publishers} | ${f(x.eventsPerSec, 0)} | ${f(x.redis, 2)} | ${f(x.hottest, 0)} | ${f(x.publisher, 1)} | ${f(x.p99)} |`,
      );
    }
  }
  lines.push(
    '',
    '### Ingest, cluster ÷ one Redis (medians)',
    '',
    '| publishers | events/s | Redis CPU µs/event, all shards | publisher CPU µs/event | batch p99 |',
    '|---|---|---|---|---|',
  );
  for (const publishers of groups) {
    const c = ingestMedian('cluster', publishers);
    const s = ingestMedian('single', publishers);
    lines.push(
      `| ${publishers} | ${ratio(c.eventsPerSec, s.eventsPerSec)} | ${ratio(c.redis, s.redis)} | ${ratio(c.publisher, s.publisher)} | ${ratio(c.p99, s.p99)} |`,
    );
  }
  if (delivery.length > 0) {
    lines.push(
      '',
      '## Delivery',
      '',
      `A real gateway (apps/gateway) per row on the topology, ${o.clients} raw WebSocket clients from one load worker subscribed to all five scopes (\`snapshot=false\`), the bench's paced publisher (through the backplane, 20 ms bursts) offering ${o.deliveryRate} events/s over the five scopes for ${o.seconds} s after a 1 s warm-up: every event goes to every client. Deliveries/s: messages received by all clients in the publishing window; events/s delivered: that ÷ clients. Gateway CPU from the first publish to the end of the drain, over every message received meanwhile. Latency: the publisher's stamp to the client's receipt. Idle: the gateway's and each shard's CPU over ${input.method.idleWindowMs / 1000} s with the clients connected and nothing published (pings, timers, the cluster bus); "net" subtracts that share, leaving the cost of the events themselves (at low rates the fixed cost is much of the raw per-event figure).`,
      '',
      '| round | topology | clients | events/s offered | deliveries/s | events/s delivered | loss % | gateway CPU % (idle %) | gateway CPU µs/delivery | net of idle | latency p50 ms | latency p99 ms | Redis CPU µs/event per shard | Redis CPU µs/event, all shards | net of idle | closed by server |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...delivery.map(
        (r) =>
          `| ${r.round} | ${label(r.topology)} | ${r.clients} | ${f(r.offeredEventsPerSec, 0)} | ${f(r.deliveriesPerSec, 0)} | ${f(r.deliveriesPerSec / Math.max(1, r.clients), 0)} | ${f(r.lossPct, 2)} | ${f(r.gatewayCpuPct, 0)} (${f(r.gatewayIdleCpuPct, 1)}) | ${f(r.gatewayCpuUsPerDelivery, 2)} | ${f(r.gatewayNetCpuUsPerDelivery, 2)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${shardCell(r.shards, r.elapsedS, r.shardIdleCorePct)} | ${f(r.redisCpuUsPerEvent, 2)} | ${f(r.redisNetCpuUsPerEvent, 2)} | ${r.closedByServer} |`,
      ),
      '',
      '### Delivery, medians over the rounds',
      '',
      '| topology | deliveries/s | loss % | gateway CPU µs/delivery | net of idle | latency p99 ms | Redis CPU µs/event, all shards | net of idle |',
      '|---|---|---|---|---|---|---|---|',
    );
    const deliveryMedian = (name: TopologyName) => {
      const rows = delivery.filter((r) => r.topology === name);
      return {
        deliveries: median(rows.map((r) => r.deliveriesPerSec)),
        loss: median(rows.map((r) => r.lossPct)),
        gateway: median(rows.map((r) => r.gatewayCpuUsPerDelivery)),
        gatewayNet: median(rows.map((r) => r.gatewayNetCpuUsPerDelivery)),
        p99: median(rows.map((r) => r.p99Ms)),
        redis: median(rows.map((r) => r.redisCpuUsPerEvent)),
        redisNet: median(rows.map((r) => r.redisNetCpuUsPerEvent)),
      };
    };
    for (const t of topologies) {
      const x = deliveryMedian(t.name);
      lines.push(
        `| ${t.label} | ${f(x.deliveries, 0)} | ${f(x.loss, 2)} | ${f(x.gateway, 2)} | ${f(x.gatewayNet, 2)} | ${f(x.p99)} | ${f(x.redis, 2)} | ${f(x.redisNet, 2)} |`,
      );
    }
    const c = deliveryMedian('cluster');
    const s = deliveryMedian('single');
    lines.push(
      `| cluster ÷ one Redis | ${ratio(c.deliveries, s.deliveries)} | | ${ratio(c.gateway, s.gateway)} | ${ratio(c.gatewayNet, s.gatewayNet)} | ${ratio(c.p99, s.p99)} | ${ratio(c.redis, s.redis)} | ${ratio(c.redisNet, s.redisNet)} |`,
    );
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}
