import { type Backplane, createBackplane, DEFAULT_RETENTION, parseRetention } from '@hydra/backplane';
import { readRedisTarget } from '@hydra/config';
import type { Scope } from '@hydra/protocol';
import { StreamClient, type StreamClientOptions } from '@hydra/stream-client';
import { startRedisCluster, type TestRedisCluster } from './redis-cluster.js';
import { startRedisSentinel, type TestRedisSentinel } from './redis-sentinel.js';
import { startRedis, type TestRedis } from './redis-server.js';
import { type GatewayProcess, type ServiceProcess, spawnService, startGatewayProcess } from './service-process.js';

/**
 * The Redis a fixture runs on: one server (`single`, the default), a
 * Sentinel group (a primary, two replicas, three sentinels: startRedisSentinel)
 * or a Redis Cluster (three masters with a replica each: startRedisCluster).
 */
export type RedisTopology = 'single' | 'sentinel' | 'cluster';

export const REDIS_TOPOLOGIES: readonly RedisTopology[] = Object.freeze(['single', 'sentinel', 'cluster']);

export interface StreamFixtureOptions {
  /** HYDRA_RETENTION of the test's backplane and every process it starts. */
  retention?: string;
  /** Default `single`. */
  topology?: RedisTopology;
  /** `single` only: an append-only file, so a restart keeps data. */
  persist?: boolean;
  /** `single` only: extra `redis-server` arguments. */
  redisArgs?: string[];
}

/** The started topology: exactly one of these is set. */
type RunningRedis =
  | { topology: 'single'; redis: TestRedis }
  | { topology: 'sentinel'; sentinel: TestRedisSentinel }
  | { topology: 'cluster'; cluster: TestRedisCluster };

/**
 * A real Redis (one server, a Sentinel group or a cluster), a backplane
 * client for the test itself (to create keys and publish), and gateway
 * processes started from the built dist, all naming that Redis the way an
 * operator would (`redisEnv`).
 */
export class StreamFixture {
  backplane!: Backplane;
  /** The variables that name this fixture's Redis: HYDRA_REDIS_URL, HYDRA_REDIS_SENTINELS(+_NAME) or HYDRA_REDIS_CLUSTER_NODES. */
  redisEnv: Readonly<Record<string, string>> = {};
  readonly gateways: GatewayProcess[] = [];
  private readonly clients: StreamClient[] = [];
  private running!: RunningRedis;
  /** HYDRA_RETENTION shared by the test's backplane and every gateway (processes sharing state must agree). */
  private retention = '';

  static async start(options: StreamFixtureOptions = {}): Promise<StreamFixture> {
    const f = new StreamFixture();
    f.retention = options.retention ?? '';
    f.running = await startTopology(options);
    f.redisEnv = envOf(f.running);
    f.backplane = createBackplane({
      kind: 'redis',
      target: readRedisTarget(f.redisEnv)!,
      retention: options.retention ? parseRetention(options.retention) : DEFAULT_RETENTION,
    });
    return f;
  }

  get topology(): RedisTopology {
    return this.running.topology;
  }

  /** The one Redis of a `single` fixture (fault tests kill and restart it). */
  get redis(): TestRedis {
    if (this.running.topology !== 'single') throw new Error(`a ${this.running.topology} fixture has no single Redis`);
    return this.running.redis;
  }

  get sentinel(): TestRedisSentinel {
    if (this.running.topology !== 'sentinel') throw new Error(`a ${this.running.topology} fixture has no sentinels`);
    return this.running.sentinel;
  }

  get cluster(): TestRedisCluster {
    if (this.running.topology !== 'cluster') throw new Error(`a ${this.running.topology} fixture has no cluster`);
    return this.running.cluster;
  }

  /** What any Hydra process (gateway, publisher) needs to share this fixture's state: its Redis and retention. */
  get processEnv(): Record<string, string> {
    return { ...this.redisEnv, HYDRA_RETENTION: this.retention };
  }

  async gateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
    const gw = await startGatewayProcess({ ...this.processEnv, HYDRA_DRAIN_MS: '200', ...env });
    this.gateways.push(gw);
    return gw;
  }

  /**
   * A gateway process on this fixture's Redis, on loopback with free ports,
   * not awaited: for tests of its start-up (a refusal to start, a signal
   * during the start). `env` adds to or overrides those settings.
   */
  spawnGateway(env: Record<string, string> = {}): ServiceProcess {
    return spawnService('apps/gateway/dist/main.js', {
      ...this.redisEnv,
      HYDRA_HOST: '127.0.0.1',
      HYDRA_PORT: '0',
      HYDRA_ADMIN_PORT: '0',
      ...env,
    });
  }

  async key(scopes: Scope[], ttlSeconds?: number): Promise<{ id: string; key: string }> {
    const created = await this.backplane.keys.create({ scopes, ttlSeconds, name: 'test' });
    return { id: created.record.id, key: created.key };
  }

  client(url: string, options: StreamClientOptions = {}): StreamClient {
    const c = new StreamClient(url, options);
    this.clients.push(c);
    return c;
  }

  /** A client past `connected` (a uWebSockets#1928 drop at connect is dialled again: StreamClient). */
  async connectedClient(url: string, options: StreamClientOptions = {}): Promise<StreamClient> {
    const c = this.client(url, options);
    await c.waitFor((m) => m.type === 'connected');
    return c;
  }

  /** Connections of this fixture's clients that the gateway dropped at connect, before any message, and redialled. */
  get dropsAtConnect(): number {
    return this.clients.reduce((n, c) => n + c.earlyDrops, 0);
  }

  async publish(scope: Scope, data: Record<string, unknown>): Promise<number> {
    const [published] = await this.backplane.bus.publish([{ scope, data }]);
    return published?.seq ?? -1;
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.terminate();
    await Promise.all(this.gateways.map((g) => g.stop()));
    await this.backplane.close();
    await stopTopology(this.running);
  }
}

async function startTopology(options: StreamFixtureOptions): Promise<RunningRedis> {
  const topology = options.topology ?? 'single';
  if (topology !== 'single' && (options.persist !== undefined || options.redisArgs !== undefined)) {
    throw new Error(`persist and redisArgs apply to a single Redis, not to a ${topology} fixture`);
  }
  switch (topology) {
    case 'single':
      return { topology, redis: await startRedis({ persist: options.persist ?? false, args: options.redisArgs }) };
    case 'sentinel':
      return { topology, sentinel: await startRedisSentinel() };
    case 'cluster':
      return { topology, cluster: await startRedisCluster() };
    default: {
      const unknown: never = topology;
      throw new Error(`unknown Redis topology ${String(unknown)}`);
    }
  }
}

function envOf(running: RunningRedis): Readonly<Record<string, string>> {
  switch (running.topology) {
    case 'single':
      return { HYDRA_REDIS_URL: running.redis.url };
    case 'sentinel':
      return running.sentinel.env;
    case 'cluster':
      return running.cluster.env;
  }
}

function stopTopology(running: RunningRedis): Promise<void> {
  switch (running.topology) {
    case 'single':
      return running.redis.stop();
    case 'sentinel':
      return running.sentinel.stop();
    case 'cluster':
      return running.cluster.stop();
  }
}

export const withKey = (url: string, key: string, extra = ''): string =>
  `${url}?apiKey=${encodeURIComponent(key)}${extra}`;
