import { Counter, type Registry } from 'prom-client';

/** The backplane's two Redis connections (label values of the hydra_redis_* client counters). */
export type RedisConnectionLabel = 'command' | 'subscriber';
const CONNECTIONS: readonly RedisConnectionLabel[] = ['command', 'subscriber'];

/**
 * Reconnects and errors of a process's Redis connections, by connection.
 * Shaped as the backplane's connection-event handler (`onReconnecting`,
 * `onError`), so a composition root passes it straight to createBackplane.
 * Both label values exist from the start (at 0), so `rate()` and alerts see
 * the first reconnect.
 */
export class RedisClientMetrics {
  readonly reconnects: Counter<'connection'>;
  readonly errors: Counter<'connection'>;

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
    for (const connection of CONNECTIONS) {
      this.reconnects.inc({ connection }, 0);
      this.errors.inc({ connection }, 0);
    }
  }

  readonly onReconnecting = (connection: RedisConnectionLabel): void => {
    this.reconnects.inc({ connection });
  };

  readonly onError = (connection: RedisConnectionLabel): void => {
    this.errors.inc({ connection });
  };
}
