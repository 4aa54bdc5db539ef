import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { RedisKeyStore } from '@hydra/backplane';
import { REPO_ROOT, StreamClient, startRedis, type TestRedis } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `pnpm start | cat`, then Ctrl-C: the reader of stdout is gone before the
 * process logs its shutdown. Every long-running process must keep serving
 * with its stdout and stderr closed, and still end on SIGINT with exit 0
 * within its drain bound. (pino's default destination hung here forever,
 * retrying `write(1) = EPIPE` in its exit flush, deaf to signals.)
 */
const DRAIN_MS = 200;
/** The drain, the shutdown of the backplane and the process's own exit, on a loaded 2-core box. */
const EXIT_BOUND_MS = DRAIN_MS + 5_000;

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** Starts a built process with piped stdout and stderr; resolves with it and its first log line matching `ready`. */
async function start(script: string, env: Record<string, string>, ready: string) {
  const child: Child = spawn(process.execPath, [script], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      HYDRA_HOST: '127.0.0.1',
      HYDRA_LOG_LEVEL: 'debug',
      HYDRA_DRAIN_MS: String(DRAIN_MS),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  let seen = '';
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${ready}' line:\n${seen.slice(-2000)}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      for (const text of seen.split('\n')) {
        if (!text.includes(`"msg":"${ready}"`)) continue;
        clearTimeout(timer);
        resolve(JSON.parse(text) as Record<string, unknown>);
      }
    });
    void exited.then((code) => reject(new Error(`exited ${code} before '${ready}':\n${seen.slice(-2000)}`)));
  });
  return { child, exited, line };
}

/** The reader goes away: our ends of both pipes close, so the process's next write gets EPIPE. */
function closeReaders(child: Child): void {
  child.stdout.destroy();
  child.stderr.destroy();
}

/** SIGINT, then the exit code, which must come within EXIT_BOUND_MS. */
async function interrupt(child: Child, exited: Promise<number | string | null>): Promise<number | string | null> {
  const started = performance.now();
  child.kill('SIGINT');
  const bound = new Promise<string>((resolve) => setTimeout(() => resolve('still running'), EXIT_BOUND_MS).unref());
  const result = await Promise.race([exited, bound]);
  if (result === 'still running') child.kill('SIGKILL');
  expect(performance.now() - started).toBeLessThan(EXIT_BOUND_MS);
  return result;
}

const status = async (url: string) => (await fetch(url)).status;

describe('a process whose stdout and stderr reader is gone', () => {
  let redis: TestRedis;
  let keys: RedisKeyStore;

  beforeAll(async () => {
    redis = await startRedis();
    keys = new RedisKeyStore(redis.client());
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('gateway: keeps serving (probes, a client and its snapshot), then exits 0 on SIGINT', async () => {
    const { key } = await keys.create({ scopes: ['signals'], name: 'broken stdout' });
    const { child, exited, line } = await start(
      'apps/gateway/dist/main.js',
      { HYDRA_REDIS_URL: redis.url, HYDRA_PORT: '0', HYDRA_ADMIN_PORT: '0' },
      'listening',
    );
    closeReaders(child);
    // Connects and refusals log (debug and info): each of these writes meets the closed pipe.
    const refused = new StreamClient(
      `ws://127.0.0.1:${line.port}/v1/stream?apiKey=hydra_k1_not-a-real-key-000000000000`,
    );
    expect((await refused.closed).code).toBe(1008);
    const client = new StreamClient(`ws://127.0.0.1:${line.port}/v1/stream?apiKey=${encodeURIComponent(key)}`);
    await client.waitFor((m) => m.type === 'snapshot');
    expect(await status(`http://127.0.0.1:${line.adminPort}/healthz`)).toBe(200);
    expect(await status(`http://127.0.0.1:${line.adminPort}/readyz`)).toBe(200);
    expect(await interrupt(child, exited)).toBe(0);
    expect((await client.closed).code).toBe(1001);
  });

  it('publisher: keeps ingesting, then exits 0 on SIGINT', async () => {
    const token = 'broken-stdout-token-0123456789';
    const { child, exited, line } = await start(
      'apps/publisher/dist/main.js',
      { HYDRA_REDIS_URL: redis.url, HYDRA_PUBLISHER_PORT: '0', HYDRA_INGEST_TOKEN: token },
      'publisher listening',
    );
    closeReaders(child);
    const post = (authorization: string) =>
      fetch(`http://127.0.0.1:${line.port}/v1/events`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ scope: 'alerts', data: { label: 'with stdout closed' } }),
      });
    expect((await post('Bearer wrong-token')).status).toBe(401); // logged
    expect((await post(`Bearer ${token}`)).status).toBe(200);
    expect(await status(`http://127.0.0.1:${line.port}/healthz`)).toBe(200);
    expect(await interrupt(child, exited)).toBe(0);
  });

  it('embedded (pnpm start | cat, then Ctrl-C): keeps streaming, then exits 0 on SIGINT', async () => {
    const { child, exited, line } = await start(
      'apps/embedded/dist/main.js',
      { HYDRA_PORT: '0', HYDRA_ADMIN_PORT: '0', HYDRA_PUBLISHER_PORT: '0' },
      'embedded ready',
    );
    closeReaders(child);
    expect(await status(`http://127.0.0.1:${line.adminPort}/healthz`)).toBe(200);
    const refused = new StreamClient(
      `ws://127.0.0.1:${line.port}/v1/stream?apiKey=hydra_k1_not-a-real-key-000000000000`,
    );
    expect((await refused.closed).code).toBe(1008);
    const post = await fetch(`http://127.0.0.1:${line.ingestPort}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'alerts', data: { label: 'with stdout closed' } }),
    });
    expect(post.status).toBe(200);
    expect(await interrupt(child, exited)).toBe(0);
  });

  it('CLI: `hydra keys create … | (reader gone)` still creates the key and exits 0, without an EPIPE crash', async () => {
    const before = (await keys.list()).length;
    const child: Child = spawn(
      process.execPath,
      ['apps/cli/dist/cli.js', 'keys', 'create', '--scopes', 'signals', '--name', 'piped', '--json'],
      { cwd: REPO_ROOT, env: { ...process.env, HYDRA_REDIS_URL: redis.url }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | string | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal)),
    );
    child.stdout.destroy(); // the reader is gone before the command prints its key
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    expect(await exited).toBe(0);
    expect(stderr).not.toContain('EPIPE');
    const created = (await keys.list()).filter((r) => r.name === 'piped');
    expect(created).toHaveLength(1);
    expect((await keys.list()).length).toBe(before + 1);
  });
});
