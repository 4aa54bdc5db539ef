import { describeRedisTarget, type RedisTarget, redisTargetFromUrl } from '@hydra/config';
import { SCOPES, type Scope } from '@hydra/protocol';
import type { Backplane, RedisConnectionEvents, RedisConnectionRole } from './backplane.js';
import type { ConnectionLimiter, ConnectionLimiterOptions } from './connection-limiter.js';
import { EndedConnectionRevival } from './ended-connection-revival.js';
import { sweepExpiredEntities } from './entity-expiry.js';
import type { BusDropListener } from './event-bus.js';
import { RedisConnectionLimiter } from './redis-connection-limiter.js';
import { isClusterClient, openRedisClient, type RedisClient } from './redis-connections.js';
import { RedisEventBus } from './redis-event-bus.js';
import { RedisHistoryStore } from './redis-history-store.js';
import { RedisKeyStore } from './redis-key-store.js';
import { redisKeys } from './redis-keys.js';
import { RedisSnapshotStore } from './redis-snapshot-store.js';
import type { RetentionPolicy } from './retention.js';
import { type RetentionAgreement, redisRetentionAgreement } from './retention-agreement.js';

export type RedisBackplaneOptions = (
  | {
      /** Where Redis is: one server, a Sentinel-managed primary or a cluster (readRedisTarget). */
      target: RedisTarget;
    }
  | {
      /** Shorthand for a standalone target: `redis://[user:password@]host:port[/db]` (or `rediss://`). */
      url: string;
    }
) & {
  retention: RetentionPolicy;
  /** Reconnects, errors and revivals of both connections, for metrics (and the revivals for a log line). */
  connectionEvents?: RedisConnectionEvents | undefined;
  /**
   * Reconnect a connection ioredis left in status `end` while this backplane
   * was not closing (EndedConnectionRevival). Default true; false keeps the
   * ended connection ended, as the bare ioredis client would (only the test
   * that shows what the revival is for turns it off).
   */
  reviveEndedConnections?: boolean | undefined;
  /** Told of each bus message dropped (malformed) and each exception a bus handler threw. */
  onBusDrop?: BusDropListener | undefined;
  /** RedisEventBusOptions.subscriptionCheckMs (default 2000 ms). */
  subscriptionCheckMs?: number | undefined;
  /** RedisEventBusOptions.minReplicas / replicaTimeoutMs: publish() waits for replicas (the publisher's HYDRA_INGEST_MIN_REPLICAS). */
  minReplicas?: number | undefined;
  replicaTimeoutMs?: number | undefined;
  /** RedisEventBusOptions.dedupeWindowMs: how long log scopes remember idempotency keys (HYDRA_INGEST_DEDUPE_WINDOW). */
  dedupeWindowMs?: number | undefined;
};

/**
 * The backplane of every scaled deployment. Opens two connections to the
 * target (redis-connections.ts): `redis` (commands: scripts, key store, limiter, history) and `subscriber` (a
 * duplicate in subscriber mode), and owns them: close() quits both. Until then
 * neither stays ended: ioredis reconnects a lost connection, and an
 * EndedConnectionRevival per connection (one Redis or Sentinel) reconnects one
 * that ioredis itself left in status `end`.
 */
export class RedisBackplane implements Backplane {
  readonly kind = 'redis' as const;
  readonly keys: RedisKeyStore;
  readonly snapshots: RedisSnapshotStore;
  readonly bus: RedisEventBus;
  readonly history: RedisHistoryStore;
  readonly retentionAgreement: RetentionAgreement;
  /** What logs may say about where this backplane lives (no secrets). */
  readonly description: string;
  readonly #target: RedisTarget;
  readonly #redis: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #limiters = new Set<ConnectionLimiter>();
  readonly #revivals: EndedConnectionRevival[] = [];
  #lastError: Error | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: RedisBackplaneOptions) {
    this.#target = 'target' in options ? options.target : redisTargetFromUrl(options.url);
    this.description = describeRedisTarget(this.#target);
    this.#redis = openRedisClient(this.#target);
    this.#subscriber = this.#redis.duplicate();
    // Without a listener ioredis prints every connection error; the status is
    // what callers act on (isHealthy), the last error is kept for diagnostics.
    const events = options.connectionEvents;
    const observe = (client: RedisClient, connection: RedisConnectionRole) => {
      client.on('error', (error: Error) => {
        this.#lastError = error;
        events?.onError(connection, error);
      });
      // ioredis emits `reconnecting` once per scheduled attempt (retryStrategy returned a delay).
      client.on('reconnecting', () => events?.onReconnecting(connection));
      if (options.reviveEndedConnections !== false && !isClusterClient(client)) {
        const onRevive = (attempt: number) => events?.onRevived(connection, attempt);
        this.#revivals.push(new EndedConnectionRevival({ client, onRevive }));
      }
    };
    observe(this.#redis, 'command');
    observe(this.#subscriber, 'subscriber');
    this.keys = new RedisKeyStore(this.#redis);
    this.snapshots = new RedisSnapshotStore({ redis: this.#redis, retention: options.retention });
    this.bus = new RedisEventBus({
      redis: this.#redis,
      subscriber: this.#subscriber,
      retention: options.retention,
      onDrop: options.onBusDrop,
      subscriptionCheckMs: options.subscriptionCheckMs,
      minReplicas: options.minReplicas,
      replicaTimeoutMs: options.replicaTimeoutMs,
      dedupeWindowMs: options.dedupeWindowMs,
    });
    this.history = new RedisHistoryStore({ redis: this.#redis, retention: options.retention });
    this.retentionAgreement = redisRetentionAgreement(this.#redis, options.retention);
  }

  sweepExpired(): Promise<number> {
    return sweepExpiredEntities(this.bus);
  }

  createLimiter(options: ConnectionLimiterOptions): ConnectionLimiter {
    const limiter = new RedisConnectionLimiter(this.#redis, options);
    this.#limiters.add(limiter);
    return limiter;
  }

  /**
   * On Redis Cluster, the master (`host:port`) holding each scope's keys and
   * shard channel, as this client's slot map has it; undefined on one Redis
   * or Sentinel (one primary holds everything). For the start-up log line.
   */
  async scopePlacement(): Promise<Record<Scope, string> | undefined> {
    const cluster = this.#redis;
    if (!isClusterClient(cluster)) return undefined;
    const placement = {} as Record<Scope, string>;
    for (const scope of SCOPES) {
      const slot = Number(await cluster.call('CLUSTER', 'KEYSLOT', redisKeys.scopeSeq(scope)));
      placement[scope] = cluster.slots[slot]?.[0] ?? 'unknown';
    }
    return placement;
  }

  /** True while both connections are ready (connected, able to run commands / subscribed) and close() was not called. */
  isHealthy(): boolean {
    return this.#closing === undefined && this.#redis.status === 'ready' && this.#subscriber.status === 'ready';
  }

  /** The last connection error seen on either connection (for logs), if any. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /**
   * Closes the bus subscriptions and the limiters this backplane created, then
   * quits both connections (disconnects at once if Redis is unreachable).
   * Does not release limiter slots (releaseAll does). Idempotent.
   */
  close(): Promise<void> {
    // First, before any quit: the `end` that close() causes is not revived.
    for (const revival of this.#revivals) revival.stop();
    this.#closing ??= (async () => {
      await this.bus.close();
      await Promise.all([...this.#limiters].map((l) => l.close().catch(() => undefined)));
      await Promise.all([closeClient(this.#subscriber), closeClient(this.#redis)]);
    })();
    return this.#closing;
  }
}

async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through: drop the connection
    }
  }
  client.disconnect();
}
