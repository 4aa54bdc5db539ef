import { BUS_DROP_REASONS } from '@hydra/backplane';
import { RedisClientMetrics, registerProcessMetrics } from '@hydra/metrics';
import { CONFLATION_TIERS_MS, ENTITY_SCOPES, SCOPES } from '@hydra/protocol';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { flushHotCounts } from './hot-count.js';

/** Why an upgrade was refused (label values of hydra_connections_rejected_total). */
export type RejectReason = 'unauthorized' | 'auth_throttled' | 'ip_limit' | 'draining' | 'bad_request' | 'unavailable';

/** The opt-in stream options hydra_connections_by_option counts (label values). */
export const CONNECTION_OPTIONS = ['scopes', 'conflate', 'bbox'] as const;
export type ConnectionOption = (typeof CONNECTION_OPTIONS)[number];

/**
 * The gateway's metrics, on a private registry (never the global one, so
 * several gateways in one process or test do not collide). Label values come
 * from bounded sets only: scopes, close codes, reasons. Never keys or IPs.
 */
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly connections = new Gauge({
    name: 'hydra_connections',
    help: 'Open, authorised client connections.',
    registers: [this.registry],
  });
  readonly connectionsOpened = new Counter({
    name: 'hydra_connections_opened_total',
    help: 'Authorised connections opened.',
    registers: [this.registry],
  });
  readonly connectionsClosed = new Counter({
    name: 'hydra_connections_closed_total',
    help: 'Connections closed, by close code.',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly connectionsRejected = new Counter({
    name: 'hydra_connections_rejected_total',
    help: 'Connection attempts refused, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly messagesDelivered = new Counter({
    name: 'hydra_messages_delivered_total',
    help: 'Live event messages handed to client sockets, by scope.',
    labelNames: ['scope'],
    registers: [this.registry],
    // Incremented per event through HotCounts (hot-count.ts).
    collect: flushHotCounts,
  });
  readonly bytesDelivered = new Counter({
    name: 'hydra_bytes_delivered_total',
    help: 'Bytes of live event messages handed to client sockets, by scope.',
    labelNames: ['scope'],
    registers: [this.registry],
    // Incremented per event through HotCounts (hot-count.ts).
    collect: flushHotCounts,
  });
  readonly eventsReceived = new Counter({
    name: 'hydra_bus_events_received_total',
    help: 'Live events received from the backplane, by scope.',
    labelNames: ['scope'],
    registers: [this.registry],
    // Incremented per event through HotCounts (hot-count.ts).
    collect: flushHotCounts,
  });
  readonly busGaps = new Counter({
    name: 'hydra_bus_gaps_total',
    help: 'Sequence gaps detected on the backplane subscription (events possibly missed), by scope.',
    labelNames: ['scope'],
    registers: [this.registry],
  });
  readonly busMessagesDropped = new Counter({
    name: 'hydra_bus_messages_dropped_total',
    help: 'Backplane messages dropped (malformed) or that a handler threw on (handler_error), by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly busSilentResubscribes = new Counter({
    name: 'hydra_bus_silent_resubscribes_total',
    help: 'Backplane subscriptions found silent while a scope moved on in Redis, renewed (their clients caught up).',
    registers: [this.registry],
    collect: () => this.#syncSilentResubscribes(),
  });
  /** The bus' running count (BusStats.silentResubscribes), read at each scrape; unset: stays 0. */
  #silentResubscribesSource: (() => number) | undefined;
  #silentResubscribesSeen = 0;
  readonly resyncs = new Counter({
    name: 'hydra_resyncs_total',
    help: 'Client resynchronisations (resync message, then a fresh snapshot), by scope and reason.',
    labelNames: ['scope', 'reason'],
    registers: [this.registry],
  });
  readonly replayedEvents = new Counter({
    name: 'hydra_replayed_events_total',
    help: 'Events replayed from history to resuming clients, by scope.',
    labelNames: ['scope'],
    registers: [this.registry],
  });
  readonly resumes = new Counter({
    name: 'hydra_resumes_total',
    help: 'Scope resumes requested by reconnecting clients, by outcome.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly deliveryLatency = new Histogram({
    name: 'hydra_delivery_latency_seconds',
    help: 'Time from the event publish timestamp to its hand-off to client sockets.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly snapshotDuration = new Histogram({
    name: 'hydra_snapshot_duration_seconds',
    help: 'Time to read and serialise one scope snapshot from the backplane.',
    labelNames: ['scope'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly snapshotBytes = new Histogram({
    name: 'hydra_snapshot_bytes',
    help: 'Size of serialised scope snapshots.',
    labelNames: ['scope'],
    buckets: [256, 1024, 16_384, 131_072, 1_048_576, 4_194_304, 16_777_216],
    registers: [this.registry],
  });
  readonly snapshotReads = new Counter({
    name: 'hydra_snapshot_reads_total',
    help: 'Snapshot reads issued to the backplane (coalesced across clients), by scope.',
    labelNames: ['scope'],
    registers: [this.registry],
  });
  readonly snapshotsSent = new Counter({
    name: 'hydra_snapshots_sent_total',
    help: 'Snapshots started to clients (handed to uWS, or queued for paced sending), by scope.',
    labelNames: ['scope'],
    registers: [this.registry],
  });
  readonly pacedClients = new Gauge({
    name: 'hydra_paced_clients',
    help: 'Clients whose snapshot or replay waits for them to read (paced sending), at the last 100 ms check.',
    registers: [this.registry],
  });
  readonly pacedSends = new Counter({
    name: 'hydra_paced_sends_total',
    help: "Snapshot or replay batches that met a client's send backlog (backpressure) and were queued to follow as the client reads.",
    registers: [this.registry],
  });
  readonly slowConsumerCloses = new Counter({
    name: 'hydra_slow_consumer_closes_total',
    help: 'Clients closed with 4000 because their send backlog stalled (slow consumers).',
    registers: [this.registry],
  });
  readonly pingsSent = new Counter({
    name: 'hydra_pings_sent_total',
    help: 'Protocol ping frames sent.',
    registers: [this.registry],
  });
  readonly deadPeers = new Counter({
    name: 'hydra_dead_peers_total',
    help: 'Clients dropped for not answering a ping within one interval.',
    registers: [this.registry],
  });
  readonly keyCacheLookups = new Counter({
    name: 'hydra_key_cache_lookups_total',
    help: 'API key lookups, by cache result.',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly limiterDecisions = new Counter({
    name: 'hydra_limiter_decisions_total',
    help: 'Per-IP limiter decisions (refused_cached: refused from the local over-limit cache, no Redis call).',
    labelNames: ['decision'],
    registers: [this.registry],
  });
  readonly limiterLocalDecisions = new Counter({
    name: 'hydra_limiter_local_decisions_total',
    help: 'Per-IP decisions taken locally (per-node cap) because Redis was unreachable.',
    labelNames: ['decision'],
    registers: [this.registry],
  });
  readonly authThrottledSources = new Gauge({
    name: 'hydra_auth_throttled_sources',
    help: 'Client sources (IPv4 address or IPv6 /64) in an auth-failure cool-down on this gateway.',
    registers: [this.registry],
  });
  readonly redisUp = new Gauge({
    name: 'hydra_redis_up',
    help: '1 while the backplane is reachable.',
    registers: [this.registry],
  });
  readonly retentionMismatch = new Gauge({
    name: 'hydra_retention_mismatch',
    help: "1 while this process's HYDRA_RETENTION differs from that of another live process on the backplane.",
    registers: [this.registry],
  });
  readonly redisCommandDuration = new Histogram({
    name: 'hydra_redis_command_duration_seconds',
    help: 'Latency of backplane commands issued by the gateway, by operation.',
    labelNames: ['op'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  /** hydra_redis_reconnects_total and hydra_redis_errors_total; the backplane's connection-event handler. */
  readonly redisClient = new RedisClientMetrics(this.registry);
  readonly connectionsByOption = new Gauge({
    name: 'hydra_connections_by_option',
    help: "Open, authorised connections served with an opt-in stream option: scopes (a subset of the key's scopes), conflate (a conflation tier), bbox (a region filter).",
    labelNames: ['option'],
    registers: [this.registry],
  });
  readonly conflationFlushes = new Counter({
    name: 'hydra_conflation_flushes_total',
    help: 'Conflation flushes taken (a tier interval with changes and a client), by entity scope and tier (ms).',
    labelNames: ['scope', 'tier'],
    registers: [this.registry],
  });
  readonly conflationEntitiesFlushed = new Counter({
    name: 'hydra_conflation_entities_flushed_total',
    help: 'Entities published by conflation flushes (each changed entity once per flush, however many subscribers), by entity scope and tier (ms).',
    labelNames: ['scope', 'tier'],
    registers: [this.registry],
  });
  readonly regionTileTopics = new Gauge({
    name: 'hydra_region_tile_topics',
    help: 'Tiles of an entity scope with at least one bbox client subscribed on this gateway.',
    labelNames: ['scope'],
    registers: [this.registry],
  });
  readonly regionTilePublishes = new Counter({
    name: 'hydra_region_tile_publishes_total',
    help: 'Frames published to tile topics with subscribers (once per gateway each), by entity scope and kind: event, left_area.',
    labelNames: ['scope', 'kind'],
    registers: [this.registry],
    // Incremented per event through HotCounts (hot-count.ts).
    collect: flushHotCounts,
  });
  readonly clientMessagesIgnored = new Counter({
    name: 'hydra_client_messages_ignored_total',
    help: 'Messages sent by clients on the one-way stream (ignored).',
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'hydra_errors_total',
    help: 'Internal errors, by kind.',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) {
      registerProcessMetrics(this.registry, 'hydra_gateway_');
    }
    for (const reason of BUS_DROP_REASONS) this.busMessagesDropped.inc({ reason }, 0);
    for (const option of CONNECTION_OPTIONS) this.connectionsByOption.set({ option }, 0);
    for (const scope of ENTITY_SCOPES) {
      for (const ms of CONFLATION_TIERS_MS) {
        this.conflationFlushes.inc({ scope, tier: String(ms) }, 0);
        this.conflationEntitiesFlushed.inc({ scope, tier: String(ms) }, 0);
      }
      this.regionTileTopics.set({ scope }, 0);
      for (const kind of ['event', 'left_area']) this.regionTilePublishes.inc({ scope, kind }, 0);
    }
    for (const scope of SCOPES) {
      this.messagesDelivered.inc({ scope }, 0);
      this.bytesDelivered.inc({ scope }, 0);
      this.eventsReceived.inc({ scope }, 0);
    }
  }

  /**
   * Exports a count the bus keeps itself (BusStats.silentResubscribes) as
   * hydra_bus_silent_resubscribes_total: each scrape adds what it grew by.
   */
  followSilentResubscribes(source: () => number): void {
    this.#silentResubscribesSource = source;
    this.#silentResubscribesSeen = source();
  }

  #syncSilentResubscribes(): void {
    const now = this.#silentResubscribesSource?.() ?? this.#silentResubscribesSeen;
    if (now > this.#silentResubscribesSeen) this.busSilentResubscribes.inc(now - this.#silentResubscribesSeen);
    this.#silentResubscribesSeen = now;
  }

  /** Times an async backplane operation into hydra_redis_command_duration_seconds. */
  async timeRedis<T>(op: string, run: () => Promise<T>): Promise<T> {
    const end = this.redisCommandDuration.startTimer({ op });
    try {
      return await run();
    } finally {
      end();
    }
  }
}
