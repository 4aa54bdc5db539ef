/**
 * A Redis Cluster for one bench run: `masters` masters and no replicas (the
 * bench measures throughput and cost, not failover), from the local
 * `redis-server` binary on free ports, every node pinned to `cpus`, all slots
 * assigned by `redis-cli --cluster create` (the even split: 0–5460, 5461–10922,
 * 10923–16383 for three). The tests' helper with replicas and failover is
 * packages/test-support's startRedisCluster; it runs from source under vitest
 * only, so the bench, built with tsc, carries this small launcher.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, sleep, spawnPinned, stopChild, waitForLine } from './procs.js';

const run = promisify(execFile);
/** A node starts in milliseconds; a machine loaded many times over its cores needs far longer. */
const READY_TIMEOUT_MS = 30_000;

export interface BenchRedisNode {
  /** `127.0.0.1:<port>`, as CLUSTER SLOTS and the backplane's scope placement name it. */
  readonly address: string;
  readonly port: number;
  readonly pid: number;
  /** A plain client to this node only (INFO, GET of keys whose slot it serves, FLUSHALL). */
  readonly client: Redis;
}

export interface BenchRedisCluster {
  readonly nodes: readonly BenchRedisNode[];
  /** `host:port,…` of every node (`HYDRA_REDIS_CLUSTER_NODES`). */
  readonly nodeList: string;
  stop(): Promise<void>;
}

export async function startRedisCluster(cpus: string, masters = 3): Promise<BenchRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'hydra-bench-cluster-'));
  const nodes: BenchRedisNode[] = [];
  const children: ReturnType<typeof spawnPinned>[] = [];
  const stop = async () => {
    for (const n of nodes) n.client.disconnect();
    await Promise.all(children.map((c) => stopChild(c, 2000)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const busPort = await freePort();
      const child = spawnPinned(
        cpus,
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `dump-${port}.rdb`],
          ...['--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--maxclients', '1000'],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)],
          ...['--cluster-port', String(busPort), '--cluster-node-timeout', '5000'],
        ],
        process.env,
      );
      children.push(child);
      child.stderr?.resume();
      await waitForLine(child, (l) => (l.includes('Ready to accept connections') ? true : undefined), READY_TIMEOUT_MS);
      const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined); // failures surface through the awaited calls
      nodes.push({ address: `127.0.0.1:${port}`, port, pid: child.pid ?? 0, client });
    }
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: READY_TIMEOUT_MS },
    );
    // Every node must agree all slots are served before a client reads a stable slot map.
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (;;) {
      const infos = await Promise.all(nodes.map((n) => n.client.call('CLUSTER', 'INFO').catch(() => '')));
      if (infos.every((i) => String(i).includes('cluster_state:ok'))) break;
      if (performance.now() > deadline) throw new Error(`Redis Cluster not ok within ${READY_TIMEOUT_MS} ms`);
      await sleep(100); // state no event announces
    }
    return { nodes, nodeList: nodes.map((n) => n.address).join(','), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
