import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, sleep, spawnPinned, stopChild } from './procs.js';

export interface BenchRedis {
  url: string;
  port: number;
  pid: number;
  client: Redis;
  stop(): Promise<void>;
  /** Total calls per command since start (INFO commandstats). */
  commandStats(): Promise<Record<string, number>>;
}

export interface StartRedisOptions {
  /** A command that runs redis-server (e.g. `valgrind --tool=callgrind …`): `pid` is then the wrapper's. */
  wrapper?: readonly string[];
  /** How long redis-server may take to answer PING (default 10 s; a wrapper like valgrind needs more). */
  startTimeoutMs?: number;
}

/** A private Redis for one bench run (no persistence), pinned with the clients (`cpus` null: not pinned). */
export async function startRedis(cpus: string | null, options: StartRedisOptions = {}): Promise<BenchRedis> {
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxclients',
    '1000',
  ];
  const [command, ...prefix] = [...(options.wrapper ?? []), 'redis-server'];
  const child: ChildProcess = spawnPinned(cpus, command!, [...prefix, ...args], process.env);
  child.stdout?.resume();
  child.stderr?.resume();
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on('error', () => undefined); // connection errors surface through the awaited calls
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      client.disconnect();
      await sleep(100);
    }
  }
  return {
    url,
    port,
    pid: child.pid ?? 0,
    client,
    async stop() {
      client.disconnect();
      await stopChild(child, 2000);
    },
    async commandStats() {
      const info = await client.info('commandstats');
      const out: Record<string, number> = {};
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1] as string] = Number(m[2]);
      return out;
    },
  };
}
