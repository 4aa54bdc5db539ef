import { Counter, type Registry } from 'prom-client';

/** The backplane's two Redis connections (label values of the hydra_redis_* client counters). */
export type RedisConnectionLabel = 'command' | 'subscriber';
const CONNECTIONS: readonly RedisConnectionLabel[] = ['command', 'subscriber'];

/**
 * Reconnects, errors and revivals of a process's Redis connections, by
 * connection. Shaped as the backplane's connection-event handler
 * (`onReconnecting`, `onError`, `onRevived`), so a composition root passes it
 * to createBackplane, straight or through logRedisRevivals.
 * Both label values exist from the start (at 0), so `rate()` and alerts see
 * the first reconnect.
 */
export class RedisClientMetrics {
  readonly reconnects: Counter<'connection'>;
  readonly errors: Counter<'connection'>;
  readonly revivals: Counter<'connection'>;

  constructor(registry: Registry) {
    this.reconnects = new Counter({
      name: 'hydra_redis_reconnects_total',
      help: 'Reconnect attempts scheduled after a Redis connection was lost or could not be opened, by connection.',
      labelNames: ['connection'],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'hydra_redis_errors_total',
      help: 'Errors reported by a Redis connection (connect failures, resets, protocol errors), by connection.',
      labelNames: ['connection'],
      registers: [registry],
    });
    this.revivals = new Counter({
      name: 'hydra_redis_revivals_total',
      help: 'Connects the backplane made on a Redis connection that the client library had ended by itself (no close asked), by connection.',
      labelNames: ['connection'],
      registers: [registry],
    });
    for (const connection of CONNECTIONS) {
      this.reconnects.inc({ connection }, 0);
      this.errors.inc({ connection }, 0);
      this.revivals.inc({ connection }, 0);
    }
  }

  readonly onReconnecting = (connection: RedisConnectionLabel): void => {
    this.reconnects.inc({ connection });
  };

  readonly onError = (connection: RedisConnectionLabel): void => {
    this.errors.inc({ connection });
  };

  readonly onRevived = (connection: RedisConnectionLabel): void => {
    this.revivals.inc({ connection });
  };
}

/** Where a warning goes: `logger.warn(fields, message)` (pino's signature). */
export interface WarnLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * The same connection events, each revival also logged as a warning: which
 * connection and which attempt, nothing of the Redis address or credentials.
 * A revival means the Redis client library had given up on a connection by
 * itself (a Sentinel failover can do that, see the backplane's
 * ended-connection-revival.ts), which an operator should see once.
 */
export function logRedisRevivals(
  metrics: RedisClientMetrics,
  log: WarnLog,
): Pick<RedisClientMetrics, 'onReconnecting' | 'onError'> & {
  onRevived(connection: RedisConnectionLabel, attempt: number): void;
} {
  return {
    onReconnecting: metrics.onReconnecting,
    onError: metrics.onError,
    onRevived: (connection, attempt) => {
      metrics.onRevived(connection);
      log.warn(
        { component: 'backplane', connection, attempt },
        'a Redis connection the client library had ended by itself is connecting again',
      );
    },
  };
}
