import type { Scope } from '@hydra/protocol';

/**
 * Every Redis key and channel name Hydra uses, built here and nowhere else.
 *
 * Cluster-safe: all keys one Lua script touches share a hash tag (`{…}`), so
 * they land in one slot. Per-scope keys are tagged by scope, per-IP limiter
 * keys by IP, key-store keys by key hash or id.
 */
export const REDIS_PREFIX = 'hydra';

export const redisKeys = Object.freeze({
  /** STRING: last assigned seq of a scope (INCR). */
  scopeSeq: (scope: Scope) => `${REDIS_PREFIX}:{${scope}}:seq`,
  /** HASH id → data JSON: current state of an entity scope. */
  entityState: (scope: Scope) => `${REDIS_PREFIX}:{${scope}}:state`,
  /** ZSET id → last update (epoch ms): drives per-entity expiry by the scope TTL. */
  entityLastSeen: (scope: Scope) => `${REDIS_PREFIX}:{${scope}}:seen`,
  /** ZSET score = publish ts (ms), member = `<seq>:<data JSON>`: recent events of a log scope. */
  logRecent: (scope: Scope) => `${REDIS_PREFIX}:{${scope}}:recent`,
  /**
   * STREAM, entry ID `<seq>-0`, one field `f` = the event's wire frame as
   * published: the replayable history of a scope (every scope kind).
   */
  scopeHistory: (scope: Scope) => `${REDIS_PREFIX}:{${scope}}:history`,
  /**
   * HASH idempotency key → "<seq>:<ts>:<expiresAt>" of the event of a log
   * scope first stored with that key (lua/lib/claims.lua).
   */
  scopeIdempotencyClaims: (scope: Scope) => `${REDIS_PREFIX}:{${scope}}:claims`,
  /** ZSET idempotency key, score = when its claim expires (ms): forgets claims once their window has passed. */
  scopeIdempotencyClaimExpiry: (scope: Scope) => `${REDIS_PREFIX}:{${scope}}:claims:expiry`,
  /** HASH: an API key record, by SHA-256 (hex) of the plaintext key. */
  apiKeyByHash: (keyHash: string) => `${REDIS_PREFIX}:key:{${keyHash}}`,
  /** STRING id → key hash: resolves `keys revoke <id>`. */
  apiKeyIdIndex: (keyId: string) => `${REDIS_PREFIX}:keyid:{${keyId}}`,
  /** SET of key ids: `keys list`. */
  apiKeyIds: () => `${REDIS_PREFIX}:keyids`,
  /**
   * HASH per client IP: field `<nodeId>` → that node's connection count,
   * field `<nodeId>#exp` → its lease expiry (epoch ms).
   */
  ipConnections: (ip: string) => `${REDIS_PREFIX}:ip:{${ip}}`,
  /**
   * HASH: field `<processId>` → `<expiresAtMs>|<policy>` (formatRetention),
   * one per live gateway or publisher (retention-check.lua).
   */
  retentionProcesses: () => `${REDIS_PREFIX}:retention:processes`,
});

export const redisChannels = Object.freeze({
  /** Live events of one scope; payload is the wire frame. */
  scopeEvents: (scope: Scope) => `${REDIS_PREFIX}:{${scope}}:events`,
  /** Control notices for every gateway (key revocations), JSON payloads. */
  control: () => `${REDIS_PREFIX}:control`,
});
