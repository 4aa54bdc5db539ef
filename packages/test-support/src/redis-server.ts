import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

/**
 * A real Redis for one test suite: a testcontainers container where a
 * container runtime is reachable, otherwise a local `redis-server` child on a
 * free port with its own data directory. Fault tests can stop, kill and
 * restart it (local servers only; `canRestart` says which).
 */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly canRestart: boolean;
  /** A new ioredis client (the caller quits it, or `stop()` does). */
  client(): Redis;
  /** SIGKILL (default) or graceful shutdown; data survives only a graceful stop with `persist`. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (and data directory). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Write an append-only file so a restart keeps data (default false). */
  persist?: boolean;
  /** Extra `redis-server` arguments, e.g. ['--cluster-enabled', 'yes']. */
  args?: string[];
}

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  if (process.env.HYDRA_TEST_REDIS !== 'local' && (await containerRuntimeAvailable())) {
    return startContainerRedis(options);
  }
  return startLocalRedis(options);
}

async function containerRuntimeAvailable(): Promise<boolean> {
  if (process.env.HYDRA_TEST_REDIS === 'container') return true;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 3000).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}

async function startContainerRedis(options: StartRedisOptions): Promise<TestRedis> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('redis:7')
    .withCommand(['redis-server', '--appendonly', options.persist ? 'yes' : 'no', ...(options.args ?? [])])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  const port = container.getMappedPort(6379);
  const url = `redis://${container.getHost()}:${port}`;
  const clients: Redis[] = [];
  return {
    url,
    port,
    canRestart: false,
    client: () => track(clients, new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })),
    kill: async () => {
      throw new Error('container Redis cannot be killed from tests; use HYDRA_TEST_REDIS=local');
    },
    restart: async () => {
      throw new Error('container Redis cannot be restarted from tests; use HYDRA_TEST_REDIS=local');
    },
    stop: async () => {
      await quitAll(clients);
      await container.stop();
    },
  };
}

async function startLocalRedis(options: StartRedisOptions): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hydra-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const clients: Redis[] = [];
  let child: ChildProcess | undefined;

  const launch = async () => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      options.persist ? 'yes' : 'no',
      '--protected-mode',
      'no',
      ...(options.args ?? []),
    ];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          proc.stdout?.off('data', onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.resume();
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)));
    });
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };

  await launch();
  return {
    url,
    port,
    canRestart: true,
    client: () => track(clients, new Redis(url, { maxRetriesPerRequest: 1 })),
    kill,
    restart: launch,
    stop: async () => {
      await quitAll(clients);
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function track(clients: Redis[], client: Redis): Redis {
  clients.push(client);
  return client;
}

async function quitAll(clients: Redis[]): Promise<void> {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  clients.length = 0;
}
