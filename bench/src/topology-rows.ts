/**
 * The shapes of the `--topology` mode's options and result rows, shared by the
 * measurement (topology.ts) and its report (topology-report.ts).
 */
import type { ShardFigures, TopologyName } from './redis-topology.js';

export interface TopologyOptions {
  seconds: number;
  rounds: number;
  inFlight: number;
  /** Publisher process counts of the ingest rows. */
  publishers: number[];
  /** Delivery: WebSocket clients on all scopes, and events/s offered over the scopes (0: no delivery rows). */
  clients: number;
  deliveryRate: number;
}

export interface IngestTopologyRow {
  round: number;
  topology: TopologyName;
  publishers: number;
  inFlight: number;
  eventsPerSec: number;
  errors: number;
  shards: ShardFigures[];
  /** All shards' Redis CPU over all events stored. */
  redisCpuUsPerEvent: number;
  publisherCpuUsPerEvent: number;
  p50Ms: number;
  p99Ms: number;
  elapsedS: number;
}

export interface DeliveryTopologyRow {
  round: number;
  topology: TopologyName;
  clients: number;
  offeredEventsPerSec: number;
  published: number;
  /** Messages received by all clients per second of the publishing window. */
  deliveriesPerSec: number;
  lossPct: number;
  gaps: number;
  /** Gateway CPU over the publishing window and drain, % of one core; and with the clients connected, nothing published. */
  gatewayCpuPct: number;
  gatewayIdleCpuPct: number;
  gatewayCpuUsPerDelivery: number;
  /** The same less the idle share: the cost of the deliveries themselves. */
  gatewayNetCpuUsPerDelivery: number;
  p50Ms: number;
  p99Ms: number;
  shards: ShardFigures[];
  /** Each shard's CPU, % of one core, in the idle window (order of `shards`). */
  shardIdleCorePct: number[];
  redisCpuUsPerEvent: number;
  /** All shards' CPU less their idle share, over all events stored. */
  redisNetCpuUsPerEvent: number;
  closedByServer: number;
  elapsedS: number;
}
