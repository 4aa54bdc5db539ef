import type { Scope } from '@hydra/protocol';
import { type HydraScriptCommands, publishScriptKeys, withEventScripts } from './lua-scripts.js';
import type { RedisClient } from './redis-connections.js';
import { assertRetentionPolicy, type RetentionPolicy } from './retention.js';
import type { ScopeSnapshot, SnapshotStore } from './snapshot-store.js';

export interface RedisSnapshotStoreOptions {
  /** Command connection (not closed by the store). */
  redis: RedisClient;
  /** Must be the policy the publishing bus uses: expiry is applied at read time too. */
  retention: RetentionPolicy;
}

/**
 * SnapshotStore on Redis: one snapshot.lua run per read, so `seq` and `items`
 * come from the same instant (between two publish.lua runs). Retention is
 * applied against the Redis server clock at read time, so an entity past its
 * TTL or a log event past maxAge is absent even if no expiry sweep (or
 * publish, for logs) removed it yet.
 */
export class RedisSnapshotStore implements SnapshotStore {
  readonly #redis: RedisClient & HydraScriptCommands;
  readonly #retention: RetentionPolicy;

  constructor(options: RedisSnapshotStoreOptions) {
    assertRetentionPolicy(options.retention);
    this.#redis = withEventScripts(options.redis);
    this.#retention = options.retention;
  }

  async read(scope: Scope): Promise<ScopeSnapshot> {
    const r = this.#retention[scope];
    const keys = publishScriptKeys(scope, r.kind);
    const reply =
      r.kind === 'entity'
        ? await this.#redis.hydraReadSnapshot(...keys, 'entity', r.ttlMs)
        : await this.#redis.hydraReadSnapshot(...keys, 'log', r.maxItems, r.maxAgeMs);
    const [seq, seqTs, ...items] = reply;
    return { scope, seq: Number(seq), seqTs: Number(seqTs), items };
  }
}
