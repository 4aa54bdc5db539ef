import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  dataServerArgs,
  killProcess,
  launchOnFreePorts,
  redisProcessGroup,
  until,
  withTimeout,
} from './redis-process.js';

/**
 * A Sentinel-managed Redis for one test suite, from the local `redis-server`
 * binary on free ports: a primary, `replicas` replicas and `sentinels`
 * sentinels (quorum = majority) with a short `down-after-milliseconds`, so a
 * killed primary is replaced within a few seconds.
 */
export interface TestRedisSentinel {
  /** The master group name (`HYDRA_REDIS_SENTINEL_NAME`). */
  readonly masterName: string;
  /** `host:port,…` of the sentinels (`HYDRA_REDIS_SENTINELS`). */
  readonly sentinelList: string;
  /** The sentinels' ports, in the order of `sentinelList` (the order a client asks them in). */
  readonly sentinelPorts: readonly number[];
  /** The environment a Hydra process needs to use this topology. */
  readonly env: Readonly<Record<string, string>>;
  /** The port of the current primary, as the sentinels report it. */
  primaryPort(): Promise<number>;
  /** A client to the current primary (the caller quits it, or `stop()` does). */
  primaryClient(): Promise<Redis>;
  /** A plain client to one data node, primary or replica (the caller quits it, or `stop()` does). */
  nodeClient(port: number): Redis;
  /**
   * SIGKILLs the current primary and resolves once a sentinel announced its
   * replacement (`+switch-master`), with both ports and the time it took.
   * `watchSentinel` is the port of the sentinel listened to (default the
   * first; pass another when that one is frozen).
   */
  killPrimary(options?: { watchSentinel?: number }): Promise<{ oldPort: number; newPort: number; failoverMs: number }>;
  /**
   * SIGSTOPs the process on `port` (a sentinel or a data node): its port still
   * accepts connections (the kernel's backlog) but nothing is answered, so a
   * client waits on it without error or timeout, until the returned resume()
   * (SIGCONT; idempotent). stop() resumes whatever is still frozen.
   */
  freeze(port: number): () => void;
  /**
   * Resolves once the topology has settled after a failover: every sentinel
   * names the same primary, and it reports `count` replicas online (the
   * surviving replicas re-sync to the promoted one first). Each sentinel
   * publishes its own `+switch-master` when it adopts the new primary, some
   * only after hearing of it from the others; until all have, a client's
   * failover detector can still drop its connection (aborting what it had in
   * flight) for a failover that is already over.
   */
  replicasOnline(count: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartRedisSentinelOptions {
  /** Replicas of the primary (default 2). */
  replicas?: number;
  /** Sentinels (default 3). */
  sentinels?: number;
  /** How long a silent primary takes to be judged down (default 1000 ms). */
  downAfterMs?: number;
}

const MASTER_NAME = 'hydra';

export async function startRedisSentinel(options: StartRedisSentinelOptions = {}): Promise<TestRedisSentinel> {
  const replicaCount = options.replicas ?? 2;
  const sentinelCount = options.sentinels ?? 3;
  const downAfterMs = options.downAfterMs ?? 1000;
  const group = redisProcessGroup('hydra-sentinel-');
  const { dir, servers } = group;
  const frozen = new Map<number, () => void>();
  // A client of a frozen process would wait forever on its QUIT: resume first.
  const stopAll = async () => {
    for (const resume of [...frozen.values()]) resume();
    await group.stopAll();
  };
  const track = (client: Redis) => group.track(client);

  try {
    const primary = await launchOnFreePorts(1, ([port]) => dataServerArgs(dir, port!));
    const primaryPort = primary.ports[0]!;
    servers.set(primaryPort, primary.proc);
    for (let i = 0; i < replicaCount; i++) {
      const launched = await launchOnFreePorts(1, ([port]) => [
        ...dataServerArgs(dir, port!),
        '--replicaof',
        '127.0.0.1',
        String(primaryPort),
      ]);
      const port = launched.ports[0]!;
      servers.set(port, launched.proc);
      const replica = track(new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 }));
      await until(async () => (await replica.info('replication')).includes('master_link_status:up'), 10_000);
    }
    const sentinelPorts: number[] = [];
    const quorum = Math.floor(sentinelCount / 2) + 1;
    for (let i = 0; i < sentinelCount; i++) {
      const { proc, ports } = await launchOnFreePorts(
        1,
        ([port]) => {
          const conf = join(dir, `sentinel-${port}.conf`);
          writeFileSync(
            conf,
            [
              `port ${port}`,
              'bind 127.0.0.1',
              'protected-mode no',
              `dir ${dir}`,
              `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primaryPort} ${quorum}`,
              `sentinel down-after-milliseconds ${MASTER_NAME} ${downAfterMs}`,
              `sentinel failover-timeout ${MASTER_NAME} ${Math.max(downAfterMs * 5, 3000)}`,
              `sentinel parallel-syncs ${MASTER_NAME} ${replicaCount}`,
              '',
            ].join('\n'),
          );
          return [conf, '--sentinel'];
        },
        '+monitor master',
      );
      const port = ports[0]!;
      servers.set(port, proc);
      sentinelPorts.push(port);
    }
    const sentinels = sentinelPorts.map((port) => track(new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 })));
    // A failover needs every sentinel to know the others (leader election) and the replicas (promotion).
    // Nothing announces "fully discovered": poll SENTINEL SENTINELS / REPLICAS.
    await until(async () => {
      for (const s of sentinels) {
        const peers = (await s.call('SENTINEL', 'SENTINELS', MASTER_NAME)) as unknown[];
        const replicas = (await s.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as unknown[];
        if (peers.length < sentinelCount - 1 || replicas.length < replicaCount) return false;
      }
      return true;
    }, 20_000);

    // Asks the first sentinel that is not frozen (a frozen one answers nothing).
    const primaryPortNow = async () => {
      const asked = sentinels.find((_, i) => !frozen.has(sentinelPorts[i]!))!;
      const [, port] = (await asked.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string];
      return Number(port);
    };
    const sentinelList = sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',');
    return {
      masterName: MASTER_NAME,
      sentinelList,
      sentinelPorts: Object.freeze([...sentinelPorts]),
      env: Object.freeze({ HYDRA_REDIS_SENTINELS: sentinelList, HYDRA_REDIS_SENTINEL_NAME: MASTER_NAME }),
      primaryPort: primaryPortNow,
      primaryClient: async () => track(new Redis(await primaryPortNow(), '127.0.0.1', { maxRetriesPerRequest: 1 })),
      nodeClient: (port) => track(new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 })),
      killPrimary: async (options = {}) => {
        const oldPort = await primaryPortNow();
        const watcher = track(new Redis(options.watchSentinel ?? sentinelPorts[0]!, '127.0.0.1'));
        await watcher.subscribe('+switch-master');
        const switched = new Promise<number>((resolve) => {
          watcher.on('message', (_channel: string, message: string) => {
            // `<name> <old ip> <old port> <new ip> <new port>`
            const parts = message.split(' ');
            if (parts[0] === MASTER_NAME) resolve(Number(parts[4]));
          });
        });
        const started = performance.now();
        const proc = servers.get(oldPort);
        servers.delete(oldPort);
        if (proc !== undefined) await killProcess(proc);
        const newPort = await withTimeout(switched, 30_000, 'sentinel failover');
        await watcher.quit().catch(() => watcher.disconnect());
        return { oldPort, newPort, failoverMs: Math.round(performance.now() - started) };
      },
      replicasOnline: async (count) => {
        const named = async () =>
          Promise.all(
            sentinels
              .filter((_, i) => !frozen.has(sentinelPorts[i]!))
              .map(async (s) => ((await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[])[1]),
          );
        await until(async () => new Set(await named()).size === 1, 30_000, 'every sentinel naming the same primary');
        const port = await primaryPortNow();
        const primary = track(new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 }));
        try {
          await until(
            async () => ((await primary.info('replication')).match(/state=online/g) ?? []).length >= count,
            30_000,
            `${count} replica(s) online at ${port}`,
          );
        } finally {
          await primary.quit().catch(() => primary.disconnect());
        }
      },
      freeze: (port) => {
        const proc = servers.get(port);
        if (proc === undefined) throw new Error(`no process of this topology on port ${port}`);
        proc.kill('SIGSTOP');
        const resume = () => {
          if (frozen.get(port) !== resume) return;
          frozen.delete(port);
          proc.kill('SIGCONT');
        };
        frozen.set(port, resume);
        return resume;
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
