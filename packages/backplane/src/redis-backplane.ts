import { Redis, type RedisOptions } from 'ioredis';
import type { Backplane, RedisConnectionEvents, RedisConnectionRole } from './backplane.js';
import type { ConnectionLimiter, ConnectionLimiterOptions } from './connection-limiter.js';
import { sweepExpiredEntities } from './entity-expiry.js';
import type { BusDropListener } from './event-bus.js';
import { RedisConnectionLimiter } from './redis-connection-limiter.js';
import { RedisEventBus } from './redis-event-bus.js';
import { RedisHistoryStore } from './redis-history-store.js';
import { RedisKeyStore } from './redis-key-store.js';
import { RedisSnapshotStore } from './redis-snapshot-store.js';
import type { RetentionPolicy } from './retention.js';
import { type RetentionAgreement, redisRetentionAgreement } from './retention-agreement.js';

export interface RedisBackplaneOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  retention: RetentionPolicy;
  /** Reconnects and errors of both connections, for metrics. */
  connectionEvents?: RedisConnectionEvents | undefined;
  /** Told of each bus message dropped (malformed) and each exception a bus handler threw. */
  onBusDrop?: BusDropListener | undefined;
}

/** Reconnect delay after the n-th failed attempt: 50 ms doubling, capped at 2 s. Never gives up. */
export function redisReconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(Math.max(attempt - 1, 0), 6), 2_000);
}

/**
 * Client options of the backplane's connections.
 *
 * - Commands issued while Redis is unreachable wait in ioredis' offline queue
 *   only until the next failed reconnect attempt (`maxRetriesPerRequest: 1`),
 *   so publish() and snapshot reads reject within about one reconnect delay
 *   (≤ 2 s, or connectTimeout for a black-holed host) instead of hanging.
 * - Reconnection never stops; the subscriber re-subscribes by itself
 *   (autoResubscribe) and the bus then calls onSubscribed again.
 */
export const REDIS_BACKPLANE_CLIENT_OPTIONS: Readonly<RedisOptions> = Object.freeze({
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
  retryStrategy: redisReconnectDelay,
  autoResubscribe: true,
  enableReadyCheck: true,
});

/**
 * The backplane of every scaled deployment. Opens two connections from the
 * URL: `redis` (commands: scripts, key store, limiter, history) and `subscriber` (a
 * duplicate in subscriber mode), and owns them: close() quits both.
 */
export class RedisBackplane implements Backplane {
  readonly kind = 'redis' as const;
  readonly keys: RedisKeyStore;
  readonly snapshots: RedisSnapshotStore;
  readonly bus: RedisEventBus;
  readonly history: RedisHistoryStore;
  readonly retentionAgreement: RetentionAgreement;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #limiters = new Set<ConnectionLimiter>();
  #lastError: Error | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: RedisBackplaneOptions) {
    this.#redis = new Redis(options.url, { ...REDIS_BACKPLANE_CLIENT_OPTIONS });
    this.#subscriber = this.#redis.duplicate();
    // Without a listener ioredis prints every connection error; the status is
    // what callers act on (isHealthy), the last error is kept for diagnostics.
    const events = options.connectionEvents;
    const observe = (client: Redis, connection: RedisConnectionRole) => {
      client.on('error', (error: Error) => {
        this.#lastError = error;
        events?.onError(connection, error);
      });
      // ioredis emits `reconnecting` once per scheduled attempt (retryStrategy returned a delay).
      client.on('reconnecting', () => events?.onReconnecting(connection));
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
    this.#closing ??= (async () => {
      await this.bus.close();
      await Promise.all([...this.#limiters].map((l) => l.close().catch(() => undefined)));
      await Promise.all([closeClient(this.#subscriber), closeClient(this.#redis)]);
    })();
    return this.#closing;
  }
}

async function closeClient(client: Redis): Promise<void> {
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
