import type { RedisTarget, RedisTls } from '@hydra/config';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A backplane command connection: one Redis (standalone or Sentinel-managed) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

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
 * - A `READONLY` answer means the connection still talks to a primary that
 *   was demoted (a failover the client has not seen, e.g. across a network
 *   partition): reconnect, which asks the sentinels again, and resend.
 */
export const REDIS_BACKPLANE_CLIENT_OPTIONS: Readonly<RedisOptions> = Object.freeze({
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
  retryStrategy: redisReconnectDelay,
  autoResubscribe: true,
  enableReadyCheck: true,
  reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
});

/**
 * Opens one client to the target, connecting at once (`lazyConnect` in
 * `overrides` defers it). `overrides` adjusts the per-connection options
 * (the CLI's probe: no retries, a short timeout).
 *
 * - standalone: the URL, with HYDRA_REDIS_USERNAME/PASSWORD and the TLS files added;
 * - sentinel: ioredis asks the sentinels for the primary of `masterName`,
 *   checks its role on connect, and with `failoverDetector` drops the
 *   connection as soon as a sentinel announces `+switch-master`, so it
 *   follows a failover within one reconnect instead of waiting for a timeout;
 * - cluster: a Cluster client seeded with the nodes, sharded pub/sub on
 *   (`shardedSubscribers`: one subscriber per master, resubscribed when the
 *   slots move).
 */
export function openRedisClient(target: RedisTarget, overrides: Partial<RedisOptions> = {}): RedisClient {
  const tls = tlsOptions(target.tls);
  const auth = { ...target.auth };
  switch (target.mode) {
    case 'standalone':
      return new Redis(target.url, {
        ...REDIS_BACKPLANE_CLIENT_OPTIONS,
        ...auth,
        // A rediss:// URL sets `tls` itself; the CA and client certificate are added to it.
        ...(tls === undefined ? {} : { tls }),
        ...overrides,
      });
    case 'sentinel':
      return new Redis({
        ...REDIS_BACKPLANE_CLIENT_OPTIONS,
        ...auth,
        sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
        name: target.masterName,
        role: 'master',
        sentinelUsername: target.sentinelAuth.username,
        sentinelPassword: target.sentinelAuth.password,
        failoverDetector: true,
        // Keep asking the sentinels while none answers (a rolling restart of all three).
        sentinelRetryStrategy: redisReconnectDelay,
        ...(tls === undefined ? {} : { tls, enableTLSForSentinelMode: true, sentinelTLS: tls }),
        ...overrides,
      });
    case 'cluster':
      return new Cluster(
        target.nodes.map(({ host, port }) => ({ host, port })),
        clusterOptions(auth, tls, overrides),
      );
    default: {
      const unknown: never = target;
      throw new Error(`unknown Redis mode ${String((unknown as { mode?: unknown }).mode)}`);
    }
  }
}

function clusterOptions(
  auth: { username?: string | undefined; password?: string | undefined },
  tls: RedisOptions['tls'],
  overrides: Partial<RedisOptions>,
): ClusterOptions {
  return {
    redisOptions: { ...REDIS_BACKPLANE_CLIENT_OPTIONS, ...auth, ...(tls === undefined ? {} : { tls }), ...overrides },
    clusterRetryStrategy: redisReconnectDelay,
    shardedSubscribers: true,
    enableReadyCheck: true,
    maxRedirections: 16,
    ...(overrides.lazyConnect === undefined ? {} : { lazyConnect: overrides.lazyConnect }),
    ...(overrides.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: overrides.enableOfflineQueue }),
  };
}

function tlsOptions(tls: RedisTls | undefined): RedisOptions['tls'] {
  if (tls === undefined) return undefined;
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
  };
}

/** True for a Redis Cluster client (pipelines are split by hash tag, events ride sharded pub/sub). */
export function isClusterClient(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/** The part of a key Redis Cluster hashes: the first non-empty `{…}`, else the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** One command for execRouted: `[name, ...args]` and the key that routes it (its first key). */
export interface RoutedCommand {
  readonly key: string;
  readonly command: readonly [string, ...Array<string | number | Buffer>];
}

/**
 * Sends `commands` pipelined and resolves with one `[error, result]` per
 * command, in input order (rejects only when no answer came at all).
 *
 * On one Redis that is one pipeline. A Cluster pipeline must stay on one
 * node, so there the commands are grouped by hash tag (same tag, same slot)
 * and each group is one pipeline: all at once, or one after another in order
 * of first appearance with `ordered` (writes whose order matters for a reader
 * that may come between them, as the key store's index-before-record).
 */
export async function execRouted(
  redis: RedisClient,
  commands: readonly RoutedCommand[],
  options: {
    ordered?: boolean;
    /**
     * A keyless command appended to every pipeline (so it runs on each
     * connection that wrote: `WAIT` counts that connection's writes), and
     * the check of its reply: an Error it returns rejects the whole call
     * after every pipeline ran.
     */
    trailer?: { command: readonly [string, ...Array<string | number>]; check(reply: unknown): Error | null };
  } = {},
): Promise<Array<[Error | null, unknown]>> {
  if (commands.length === 0) return [];
  const trailer = options.trailer;
  let trailerFailure: Error | null = null;
  const exec = async (batch: readonly RoutedCommand[], resent = false): Promise<Array<[Error | null, unknown]>> => {
    const pipeline = batch.map((c) => [...c.command]);
    if (trailer !== undefined) pipeline.push([...trailer.command]);
    const results = await redis.pipeline(pipeline).exec();
    if (results === null) throw new Error('Redis pipeline was discarded');
    if (trailer === undefined) return results;
    const [error, reply] = results.pop()!;
    // ioredis follows a Cluster redirect only when every command of a pipeline got it; the trailer's own answer
    // (WAIT, from whichever node the pipeline reached) stops that, so after a failover it neither resent the
    // commands nor refreshed its slot map: every later pipeline of that slot met MOVED, and ingest with
    // HYDRA_INGEST_MIN_REPLICAS ≥ 1 answered 503 for as long as nothing else refreshed the map (found by
    // faults-cluster.test.ts: a failover of a master holding only a log scope). A batch whose commands were all
    // MOVED ran nowhere: refresh the map and send it once more.
    if (isClusterClient(redis) && results.length > 0 && results.every(([e]) => e?.message.startsWith('MOVED '))) {
      await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
      if (!resent) return exec(batch, true);
    }
    trailerFailure ??= error ?? trailer.check(reply);
    return results;
  };
  const checked = (out: Array<[Error | null, unknown]>) => {
    if (trailerFailure !== null) throw trailerFailure;
    return out;
  };
  if (!isClusterClient(redis)) return checked(await exec(commands));
  const groups = new Map<string, number[]>();
  commands.forEach((c, i) => {
    const tag = hashTagOf(c.key);
    const group = groups.get(tag);
    if (group === undefined) groups.set(tag, [i]);
    else group.push(i);
  });
  const out = new Array<[Error | null, unknown]>(commands.length);
  const runGroup = async (indexes: number[]) => {
    const results = await exec(indexes.map((i) => commands[i]!));
    indexes.forEach((index, j) => {
      out[index] = results[j]!;
    });
  };
  if (options.ordered) for (const indexes of groups.values()) await runGroup(indexes);
  else await Promise.all([...groups.values()].map(runGroup));
  return checked(out);
}
