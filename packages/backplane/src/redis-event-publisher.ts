import { isScope, type Scope } from '@hydra/protocol';
import { assertExpireArgs, type EntityExpirer } from './entity-expiry.js';
import { DEFAULT_DEDUPE_WINDOW_MS, type EventPublisher, type PublishEvent, type PublishedEvent } from './event-bus.js';
import { encodeIngestEvent } from './event-data.js';
import { assertDedupeWindow, idempotencyKeyOf } from './idempotency-key.js';
import {
  expireScriptKeys,
  type HydraScriptCommands,
  PUBLISH_BATCH_SCRIPT,
  publishScriptKeys,
  withEventScripts,
} from './lua-scripts.js';
import { planPublishChunks } from './publish-chunks.js';
import { execRouted, isClusterClient, type RedisClient, type RoutedCommand } from './redis-connections.js';
import { redisChannels, redisKeys } from './redis-keys.js';
import { assertRetentionPolicy, type RetentionPolicy } from './retention.js';

export interface RedisEventPublisherOptions {
  /** Command connection: runs publish-batch.lua and expire.lua. Not closed by the publisher. */
  redis: RedisClient;
  retention: RetentionPolicy;
  /**
   * publish() resolves only once this many replicas hold the batch (`WAIT`
   * on each connection that wrote it, i.e. per master on Cluster), waiting
   * at most `replicaTimeoutMs` (default 1000); fewer rejects with a
   * ReplicaAckError (the events may be stored). Default 0: no wait.
   */
  minReplicas?: number | undefined;
  replicaTimeoutMs?: number | undefined;
  /**
   * How long a log scope remembers an event's idempotency key (PublishEvent):
   * a keyed event published again within it is answered with the original
   * seq, not stored. Default DEFAULT_DEDUPE_WINDOW_MS; 0 turns dedupe off.
   */
  dedupeWindowMs?: number | undefined;
}

/** publish() stored the batch but fewer replicas than required acknowledged it in time. */
export class ReplicaAckError extends Error {
  override readonly name = 'ReplicaAckError';
  constructor(
    readonly acknowledged: number,
    readonly required: number,
  ) {
    super(`${acknowledged} of ${required} required replicas acknowledged the write in time`);
  }
}

/**
 * The publishing side of the Redis bus: one publish-batch.lua run per chunk
 * of one scope's events (seqs + state + history XADDs + one PUBLISH per
 * event, atomically, and the log scopes' idempotency keys checked and stored
 * in the same run); expireEntities runs expire.lua (removal + seq + history
 * + PUBLISH per expired entity, atomically, hence exactly once across
 * processes). On Redis Cluster the frames ride sharded pub/sub (SPUBLISH).
 */
export class RedisEventPublisher implements EventPublisher, EntityExpirer {
  readonly #redis: RedisClient & HydraScriptCommands;
  readonly #retention: RetentionPolicy;
  readonly #publishCommand: 'SPUBLISH' | 'PUBLISH';
  readonly #replicaAck: Parameters<typeof execRouted>[2];
  readonly #dedupeWindowMs: number;

  constructor(options: RedisEventPublisherOptions) {
    assertRetentionPolicy(options.retention);
    this.#redis = withEventScripts(options.redis);
    this.#retention = options.retention;
    this.#publishCommand = isClusterClient(options.redis) ? 'SPUBLISH' : 'PUBLISH';
    this.#dedupeWindowMs = assertDedupeWindow(options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS);
    const minReplicas = options.minReplicas ?? 0;
    this.#replicaAck =
      minReplicas > 0
        ? {
            trailer: {
              command: ['wait', minReplicas, options.replicaTimeoutMs ?? 1_000],
              check: (reply) => (Number(reply) >= minReplicas ? null : new ReplicaAckError(Number(reply), minReplicas)),
            },
          }
        : {};
  }

  /**
   * Validates the whole batch first (a TypeError rejects it before anything is
   * stored), then sends one pipeline of publish-batch.lua runs, one per chunk
   * (planPublishChunks: one scope's consecutive events, bounded), each
   * scope's chunks in input order. On rejection (Redis unreachable, a script
   * error) some chunks may have been stored, per scope a prefix: a retry
   * stores keyed log events once (dedupe) and other events again.
   */
  async publish(events: readonly PublishEvent[]): Promise<PublishedEvent[]> {
    if (events.length === 0) return [];
    const scopes = events.map((event) => {
      if (!isScope(event.scope)) throw new TypeError(`unknown scope ${String(event.scope)}`);
      return event.scope;
    });
    const encoded = events.map((event) => encodeIngestEvent(event, this.#retention[event.scope].kind === 'entity'));
    const keys = events.map((event) => idempotencyKeyOf(event));
    const chunks = planPublishChunks(scopes, encoded);
    // On Cluster one pipeline per scope (execRouted), each keeping its scope's order.
    const commands = chunks.map(({ scope, indexes }): RoutedCommand => {
      const r = this.#retention[scope];
      const [numKeys, ...scriptKeys] = publishScriptKeys(scope, r.kind);
      const args: Array<string | number> = [
        scope,
        redisChannels.scopeEvents(scope),
        r.kind,
        r.historyMaxItems,
        r.historyMaxAgeMs,
        r.kind === 'log' ? r.maxItems : 0,
        r.kind === 'log' ? r.maxAgeMs : 0,
        this.#publishCommand,
        r.kind === 'log' ? this.#dedupeWindowMs : 0,
        redisKeys.scopeIdempotencyClaims(scope),
        redisKeys.scopeIdempotencyClaimExpiry(scope),
      ];
      for (const i of indexes) {
        const { op, dataJson, entityId } = encoded[i]!;
        if (r.kind === 'entity') args.push(op, entityId!, dataJson);
        else args.push('append', keys[i] ?? '', dataJson);
      }
      return { key: scriptKeys[0]!, command: [PUBLISH_BATCH_SCRIPT.command, numKeys, ...scriptKeys, ...args] };
    });
    const results = await execRouted(this.#redis, commands, this.#replicaAck);
    const out = new Array<PublishedEvent>(events.length);
    chunks.forEach(({ scope, indexes }, c) => {
      const [error, value] = results[c]!;
      if (error) throw error;
      const reply = value as number[];
      indexes.forEach((index, j) => {
        const seq = Number(reply[2 * j]);
        const ts = Number(reply[2 * j + 1]);
        out[index] =
          seq > 0
            ? { scope, seq, ts }
            : seq === 0
              ? { scope, seq, ts, skipped: true }
              : { scope, seq: -seq, ts, duplicate: true };
      });
    });
    return out;
  }

  async expireEntities(scope: Scope, limit: number): Promise<number> {
    assertExpireArgs(scope, limit, this.#retention);
    const r = this.#retention[scope];
    if (r.kind !== 'entity') return 0;
    return this.#redis.hydraExpireEntities(
      ...expireScriptKeys(scope),
      scope,
      redisChannels.scopeEvents(scope),
      r.ttlMs,
      limit,
      r.historyMaxItems,
      r.historyMaxAgeMs,
      ...(this.#publishCommand === 'SPUBLISH' ? ['SPUBLISH'] : []),
    );
  }
}
