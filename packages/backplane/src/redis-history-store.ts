import type { Scope } from '@hydra/protocol';
import { assertReadAfterArgs, type HistoryEvent, type HistoryRead, type HistoryStore } from './history-store.js';
import { type HydraScriptCommands, historyScriptKeys, withEventScripts } from './lua-scripts.js';
import type { RedisClient } from './redis-connections.js';
import { assertRetentionPolicy, type RetentionPolicy } from './retention.js';

export interface RedisHistoryStoreOptions {
  /** Command connection (not closed by the store). */
  redis: RedisClient;
  /** Must be the policy the publishing processes use (the read applies its history bounds). */
  retention: RetentionPolicy;
}

/**
 * HistoryStore on Redis Streams: one history.lua run per read, so `lastSeq`
 * and the events come from the same instant. Frames are read as Buffers
 * (never decoded), so they are the bytes publish.lua published. Ages are
 * judged by the Redis server clock.
 */
export class RedisHistoryStore implements HistoryStore {
  readonly #redis: RedisClient & HydraScriptCommands;
  readonly #retention: RetentionPolicy;

  constructor(options: RedisHistoryStoreOptions) {
    assertRetentionPolicy(options.retention);
    this.#redis = withEventScripts(options.redis);
    this.#retention = options.retention;
  }

  async readAfter(scope: Scope, afterSeq: number, maxEvents: number, positionTs = 0): Promise<HistoryRead> {
    assertReadAfterArgs(afterSeq, maxEvents, positionTs);
    const r = this.#retention[scope];
    const reply = await this.#redis.hydraReadHistoryBuffer(
      ...historyScriptKeys(scope),
      afterSeq,
      maxEvents,
      r.historyMaxItems,
      r.historyMaxAgeMs,
      positionTs,
    );
    const code = Number(reply[0]);
    const lastSeq = Number(reply[1]);
    if (code === 3) return { kind: 'reset', lastSeq };
    if (code === 2) return { kind: 'future', lastSeq };
    if (code === 1) return { kind: 'gone', oldestSeq: Number(reply[2]), lastSeq };
    const events: HistoryEvent[] = [];
    for (let i = 2; i + 1 < reply.length; i += 2) {
      events.push({ seq: Number(reply[i]), frame: reply[i + 1] as Buffer });
    }
    return { kind: 'events', events, lastSeq };
  }
}
