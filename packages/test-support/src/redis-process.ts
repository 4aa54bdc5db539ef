import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { freePort, isAddressInUse } from './free-port.js';

/** Helpers of the local multi-process Redis topologies (Sentinel, Cluster). */

export function dataServerArgs(dir: string, port: number): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--dbfilename',
    `dump-${port}.rdb`,
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
  ];
}

/** Spawns redis-server and resolves once its log shows `readyLine`. */
export function launchRedisProcess(args: string[], readyLine = 'Ready to accept connections'): Promise<ChildProcess> {
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise<ChildProcess>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(readyLine)) {
        proc.stdout?.off('data', onData);
        proc.stdout?.resume();
        proc.off('exit', onExit);
        resolve(proc);
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
    proc.stdout?.on('data', onData);
    proc.stderr?.resume();
    proc.once('error', reject);
    proc.once('exit', onExit);
  });
}

/**
 * Launches a server on `count` freshly drawn free ports, drawing again (up to
 * three times) when a port was taken between the draw and the bind.
 */
export async function launchOnFreePorts(
  count: number,
  argsFor: (ports: number[]) => string[],
  readyLine?: string,
): Promise<{ proc: ChildProcess; ports: number[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    try {
      return { proc: await launchRedisProcess(argsFor(ports), readyLine), ports };
    } catch (err) {
      if (attempt >= 3 || !isAddressInUse(err)) throw err;
    }
  }
}

export async function killProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGKILL');
  await exited;
}

/** Polls `check` every 50 ms (state nothing announces), failing after `timeoutMs`. */
export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what = 'Redis topology',
  describe?: () => Promise<string>,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const state = describe === undefined ? '' : `: ${await describe().catch((err: Error) => err.message)}`;
  throw new Error(`${what} not ready within ${timeoutMs} ms${state}`);
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * What one multi-process Redis topology (cluster, sentinel) owns: a temporary
 * directory, its server processes by port, and the clients the helper opened.
 * `stopAll` closes the clients, kills every process and removes the directory.
 */
export interface RedisProcessGroup {
  readonly dir: string;
  readonly servers: Map<number, ChildProcess>;
  /** Keeps a client to close at the end; its errors are expected while nodes die. */
  track(client: Redis): Redis;
  stopAll(): Promise<void>;
}

export function redisProcessGroup(prefix: string): RedisProcessGroup {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const servers = new Map<number, ChildProcess>();
  const clients: Redis[] = [];
  return {
    dir,
    servers,
    track(client) {
      clients.push(client);
      client.on('error', () => {});
      return client;
    },
    async stopAll() {
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      await Promise.all([...servers.values()].map((proc) => killProcess(proc)));
      servers.clear();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
