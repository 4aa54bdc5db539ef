import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import {
  dataServerArgs,
  killProcess,
  launchOnFreePorts,
  launchRedisProcess,
  redisProcessGroup,
  until,
} from './redis-process.js';

/**
 * A Redis Cluster for one test suite, from the local `redis-server` binary on
 * free ports (data and cluster-bus ports both chosen free): `masters` masters
 * with `replicasPerMaster` replicas each, a short `cluster-node-timeout`, all
 * slots assigned by `redis-cli --cluster create`.
 */
export interface TestRedisCluster {
  /** `host:port,…` of every node (`HYDRA_REDIS_CLUSTER_NODES`). */
  readonly nodeList: string;
  /** The environment a Hydra process needs to use this cluster. */
  readonly env: Readonly<Record<string, string>>;
  readonly ports: readonly number[];
  /** A plain client to one node (the caller quits it, or `stop()` does). */
  nodeClient(port: number): Redis;
  /** Ports of the current masters. */
  masterPorts(): Promise<number[]>;
  /** The port of the master serving `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /** SIGKILLs a node; resolves once the cluster is `ok` again without it (its replica promoted). */
  killNode(port: number): Promise<{ recoveredMs: number }>;
  /**
   * SIGKILLs a node and returns without waiting for a failover: a master
   * and all its replicas stopped this way leave their slots unserved.
   */
  stopNode(port: number): Promise<void>;
  /**
   * Starts a stopped node again, on its ports and with its `nodes.conf` (so
   * in its old role, without data: persistence is off); resolves once every
   * live node reports the cluster `ok`.
   */
  restartNode(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** Default 3. */
  masters?: number;
  /**
   * Default 1. With one, a shard whose master died has no replica left, and
   * `WAIT 1` (HYDRA_INGEST_MIN_REPLICAS=1) never succeeds there again: a
   * failover under that setting needs 2.
   */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` (default 1000 ms): a dead master is failed over after about this. */
  nodeTimeoutMs?: number;
}

const run = promisify(execFile);

export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const group = redisProcessGroup('hydra-cluster-');
  const { dir, servers, stopAll } = group;
  const track = (client: Redis) => group.track(client);
  const nodeClient = (port: number) => track(new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 }));

  try {
    const ports: number[] = [];
    /** Each node's command line, to start it again on the same ports (restartNode). */
    const argsOf = new Map<number, string[]>();
    const nodeArgs = (port: number, busPort: number) => [
      ...dataServerArgs(dir, port),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      String(nodeTimeoutMs),
      '--cluster-port',
      String(busPort),
      // A replica whose link was down a while (a slow start on a busy machine) still takes over.
      '--cluster-replica-validity-factor',
      '0',
    ];
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
      const launched = await launchOnFreePorts(2, ([port, busPort]) => nodeArgs(port!, busPort!));
      const [port, busPort] = launched.ports as [number, number];
      argsOf.set(port, nodeArgs(port, busPort));
      servers.set(port, launched.proc);
      ports.push(port);
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ]);
    const admins = new Map(ports.map((p) => [p, nodeClient(p)]));
    const liveAdmins = () => [...admins].filter(([p]) => servers.has(p)).map(([, c]) => c);
    const clusterOk = async () => {
      for (const admin of liveAdmins()) {
        if (!(await admin.call('CLUSTER', 'INFO')).toString().includes('cluster_state:ok')) return false;
      }
      return true;
    };
    // Every node must agree all slots are served before a client sees a stable map,
    // and every replica must have synced (a replica that never did cannot take over).
    await until(clusterOk, 30_000, 'Redis Cluster');
    await until(
      async () => {
        for (const admin of admins.values()) {
          const info = await admin.info('replication');
          if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
        }
        return true;
      },
      30_000,
      'Redis Cluster replicas',
    );
    const slotMap = async () => {
      const slots = (await liveAdmins()[0]!.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      return slots.map(([from, to, [, port]]) => ({ from, to, port: Number(port) }));
    };
    return {
      nodeList: ports.map((p) => `127.0.0.1:${p}`).join(','),
      env: Object.freeze({ HYDRA_REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(',') }),
      ports,
      nodeClient,
      masterPorts: async () => [...new Set((await slotMap()).map((s) => s.port))],
      masterOf: async (key) => {
        const slot = Number(await liveAdmins()[0]!.call('CLUSTER', 'KEYSLOT', key));
        return (await slotMap()).find((s) => s.from <= slot && slot <= s.to)!.port;
      },
      killNode: async (port) => {
        const proc = servers.get(port);
        servers.delete(port);
        const started = performance.now();
        if (proc !== undefined) await killProcess(proc);
        // The survivors first notice the failure (the state leaves ok), then a replica takes over.
        const describe = async () =>
          `killed ${port}; ${(await Promise.all(liveAdmins().map(async (a) => (await a.call('CLUSTER', 'NODES')).toString()))).join('\n---\n')}`;
        await until(
          async () => (await clusterOk()) && (await slotMap()).every((s) => s.port !== port),
          30_000,
          'Redis Cluster failover',
          describe,
        );
        return { recoveredMs: Math.round(performance.now() - started) };
      },
      stopNode: async (port) => {
        const proc = servers.get(port);
        servers.delete(port);
        if (proc !== undefined) await killProcess(proc);
      },
      restartNode: async (port) => {
        if (servers.has(port)) throw new Error(`node ${port} is running`);
        servers.set(port, await launchRedisProcess(argsOf.get(port)!));
        await until(clusterOk, 30_000, `Redis Cluster with ${port} back`);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
