/**
 * The publish paths the ingest scenario (ingest.ts) compares, each an
 * EventPublisher behind the real ingest server:
 *
 * - `per-event`: the path before issue 16, rebuilt here as the baseline: one
 *   publish.lua run per event, one pipeline per batch (what RedisEventBus did).
 * - `chunked`: RedisEventBus as shipped: one publish-batch.lua run per chunk
 *   of one scope (≤ 256 events), one PUBLISH per event.
 * - `chunk-frames`: the same, but the script PUBLISHes each chunk's frames as
 *   ONE message (newline-separated): what chunked pub/sub frames would save
 *   in Redis. Measured only; the gateway does not read such messages.
 */
import {
  type EventPublisher,
  encodeIngestEvent,
  execRouted,
  PUBLISH_BATCH_SCRIPT,
  PUBLISH_SCRIPT,
  type PublishEvent,
  type PublishedEvent,
  publishScriptKeys,
  REDIS_BACKPLANE_CLIENT_OPTIONS,
  RedisEventBus,
  type RetentionPolicy,
  type RoutedCommand,
  readLuaScript,
  redisChannels,
  withEventScripts,
} from '@hydra/backplane';
import { isScope } from '@hydra/protocol';
import { Redis } from 'ioredis';

/** The bearer token of the bench's ingest servers (loopback only). */
export const BENCH_INGEST_TOKEN = 'bench-ingest-token';

export const INGEST_PATHS = ['per-event', 'chunked', 'chunk-frames'] as const;
export type IngestPath = (typeof INGEST_PATHS)[number];

export interface OpenPath {
  publisher: EventPublisher;
  close(): Promise<void>;
}

/** `dedupeWindowMs`: the chunked paths' dedupe window (default the bus's, 10 minutes). */
export function openIngestPath(
  path: IngestPath,
  url: string,
  retention: RetentionPolicy,
  dedupeWindowMs?: number,
): OpenPath {
  const redis = new Redis(url, { ...REDIS_BACKPLANE_CLIENT_OPTIONS });
  redis.on('error', () => undefined);
  const close = async () => {
    redis.disconnect();
  };
  if (path === 'per-event') return { publisher: perEventPublisher(redis, retention), close };
  // The bus never subscribes here; its subscriber connection stays idle.
  const subscriber = new Redis(url, { ...REDIS_BACKPLANE_CLIENT_OPTIONS, lazyConnect: true });
  const bus = new RedisEventBus({ redis, subscriber, retention, subscriptionCheckMs: 0, dedupeWindowMs });
  if (path === 'chunk-frames') {
    redis.defineCommand(PUBLISH_BATCH_SCRIPT.command, { lua: chunkFramesLua() });
  }
  return {
    publisher: bus,
    close: async () => {
      subscriber.disconnect();
      await close();
    },
  };
}

/** The pre-issue-16 RedisEventBus.publish: one publish.lua call per event, pipelined. */
function perEventPublisher(redis: Redis, retention: RetentionPolicy): EventPublisher {
  const scripts = withEventScripts(redis);
  return {
    async publish(events: readonly PublishEvent[]): Promise<PublishedEvent[]> {
      const commands = events.map((event): RoutedCommand => {
        if (!isScope(event.scope)) throw new TypeError(`unknown scope ${String(event.scope)}`);
        const r = retention[event.scope];
        const { op, dataJson, entityId } = encodeIngestEvent(event, r.kind === 'entity');
        const [numKeys, ...keys] = publishScriptKeys(event.scope, r.kind);
        const common = [
          event.scope,
          redisChannels.scopeEvents(event.scope),
          r.kind,
          dataJson,
          r.historyMaxItems,
          r.historyMaxAgeMs,
        ];
        const tail = r.kind === 'entity' ? [op, entityId!] : [r.maxItems, r.maxAgeMs];
        return { key: keys[0]!, command: [PUBLISH_SCRIPT.command, numKeys, ...keys, ...common, ...tail] };
      });
      const results = await execRouted(scripts, commands);
      return results.map(([error, value], i) => {
        if (error) throw error;
        const [seq, ts] = value as [number, number];
        return { scope: events[i]!.scope, seq, ts };
      });
    },
  };
}

/** publish-batch.lua with its per-event PUBLISH replaced by one PUBLISH of the chunk's frames, newline-joined. */
function chunkFramesLua(): string {
  const lua = readLuaScript(PUBLISH_BATCH_SCRIPT.file);
  const perEvent = '    redis.call(publishCommand, channel, frame)\n';
  const loop = '\nfor i = FIRST, #ARGV, 3 do\n'; // the events loop: the only one at the start of a line
  const end = '\nreturn out\n';
  if (!lua.includes(perEvent) || !lua.includes(loop) || !lua.endsWith(end)) {
    throw new Error('publish-batch.lua changed: update chunkFramesLua()');
  }
  return lua
    .replace(perEvent, '    frames[#frames + 1] = frame\n')
    .replace(loop, `\nlocal frames = {}${loop}`)
    .replace(
      /\nreturn out\n$/,
      "\nif #frames > 0 then redis.call(publishCommand, channel, table.concat(frames, '\\n')) end\nreturn out\n",
    );
}
