/**
 * The Redis topologies the topology mode (topology.ts) compares, behind one
 * shape: the environment every Hydra process reads to find its backplane
 * (the operator's variables, parsed by @hydra/config as the gateway and the
 * publisher parse them), the shards (one Redis is one shard), which shard
 * holds each scope, and a per-shard meter of Redis CPU and events stored.
 */
import { createBackplane, DEFAULT_RETENTION, type RedisBackplane, redisKeys } from '@hydra/backplane';
import { type RedisTarget, readRedisTarget } from '@hydra/config';
import { SCOPES, type Scope } from '@hydra/protocol';
import type { Redis } from 'ioredis';
import type { BenchRedis } from './redis.js';
import type { BenchRedisCluster } from './redis-cluster.js';

export type TopologyName = 'single' | 'cluster';

export interface Shard {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly pid: number;
  /** A client to this node only. */
  readonly client: Redis;
}

export interface RedisTopology {
  readonly name: TopologyName;
  /** For reports: `one Redis`, `3-master cluster`. */
  readonly label: string;
  /** `HYDRA_REDIS_URL` or `HYDRA_REDIS_CLUSTER_NODES`: what a gateway or publisher process is given. */
  readonly env: Readonly<Record<string, string>>;
  readonly target: RedisTarget;
  readonly shards: readonly Shard[];
  /** The shard address holding each scope's keys and channel (its `{scope}` hash tag's slot). */
  readonly placement: Readonly<Record<Scope, string>>;
}

export function singleTopology(redis: BenchRedis): RedisTopology {
  const address = `127.0.0.1:${redis.port}`;
  const env = { HYDRA_REDIS_URL: redis.url };
  return {
    name: 'single',
    label: 'one Redis',
    env,
    target: targetOf(env),
    shards: [{ address, pid: redis.pid, client: redis.client }],
    placement: Object.fromEntries(SCOPES.map((s) => [s, address])) as Record<Scope, string>,
  };
}

/** The cluster's scope placement is the backplane's own (RedisBackplane.scopePlacement, the gateway's start-up line). */
export async function clusterTopology(cluster: BenchRedisCluster): Promise<RedisTopology> {
  const env = { HYDRA_REDIS_CLUSTER_NODES: cluster.nodeList };
  const target = targetOf(env);
  const backplane = createBackplane({ kind: 'redis', target, retention: DEFAULT_RETENTION }) as RedisBackplane;
  try {
    const placement = await backplane.scopePlacement();
    if (placement === undefined) throw new Error('the cluster backplane reported no scope placement');
    const known = new Set(cluster.nodes.map((n) => n.address));
    for (const scope of SCOPES) {
      if (!known.has(placement[scope])) throw new Error(`scope ${scope} placed on ${placement[scope]}, not a node`);
    }
    return {
      name: 'cluster',
      label: `${cluster.nodes.length}-master cluster`,
      env,
      target,
      shards: cluster.nodes.map((n) => ({ address: n.address, pid: n.pid, client: n.client })),
      placement,
    };
  } finally {
    await backplane.close();
  }
}

function targetOf(env: Record<string, string>): RedisTarget {
  const target = readRedisTarget(env);
  if (target === undefined) throw new Error('no Redis named');
  return target;
}

/** Empties every shard (between rows: the next row starts from the same state on both topologies). */
export async function flushTopology(t: RedisTopology): Promise<void> {
  await Promise.all(t.shards.map((s) => s.client.flushall()));
}

/** What one shard had done at one instant: its CPU seconds (INFO cpu, user + sys) and the seq of each scope it holds. */
export interface ShardReading {
  readonly cpuS: number;
  readonly seqs: ReadonlyMap<Scope, number>;
}

export async function readShards(t: RedisTopology): Promise<ShardReading[]> {
  return Promise.all(
    t.shards.map(async (shard) => {
      const cpu = await shard.client.info('cpu');
      const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? Number.NaN);
      const scopes = SCOPES.filter((s) => t.placement[s] === shard.address);
      const seqs = await Promise.all(scopes.map((s) => shard.client.get(redisKeys.scopeSeq(s))));
      return {
        cpuS: field('used_cpu_user') + field('used_cpu_sys'),
        seqs: new Map(scopes.map((s, i) => [s, Number(seqs[i] ?? 0)])),
      };
    }),
  );
}

/** One shard over a measured window: events stored in its scopes (seq growth) and the Redis CPU it spent. */
export interface ShardFigures {
  address: string;
  scopes: Scope[];
  events: number;
  cpuUs: number;
  /** cpuUs / events (NaN for a shard that holds no scope the load touched). */
  cpuUsPerEvent: number;
}

export function shardFigures(t: RedisTopology, before: ShardReading[], after: ShardReading[]): ShardFigures[] {
  return t.shards.map((shard, i) => {
    const b = before[i]!;
    const a = after[i]!;
    let events = 0;
    for (const [scope, seq] of a.seqs) events += seq - (b.seqs.get(scope) ?? 0);
    const cpuUs = (a.cpuS - b.cpuS) * 1e6;
    return {
      address: shard.address,
      scopes: [...a.seqs.keys()],
      events,
      cpuUs,
      cpuUsPerEvent: events > 0 ? cpuUs / events : Number.NaN,
    };
  });
}
