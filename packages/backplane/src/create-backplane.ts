import type { Backplane, BackplaneConfig } from './backplane.js';
import { MemoryBackplane } from './memory-backplane.js';
import { RedisBackplane } from './redis-backplane.js';

/** Builds the backplane `config.kind` names. Redis connections start connecting at once. */
export function createBackplane(config: BackplaneConfig): Backplane {
  switch (config.kind) {
    case 'redis':
      return new RedisBackplane({
        ...('target' in config ? { target: config.target } : { url: config.url }),
        retention: config.retention,
        connectionEvents: config.connectionEvents,
        onBusDrop: config.onBusDrop,
        minReplicas: config.minReplicas,
        replicaTimeoutMs: config.replicaTimeoutMs,
        dedupeWindowMs: config.dedupeWindowMs,
      });
    case 'memory':
      return new MemoryBackplane({
        retention: config.retention,
        onBusDrop: config.onBusDrop,
        dedupeWindowMs: config.dedupeWindowMs,
      });
    default: {
      const unknown: never = config;
      throw new Error(`unknown backplane kind ${String((unknown as { kind?: unknown }).kind)}`);
    }
  }
}
