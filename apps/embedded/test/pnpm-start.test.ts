import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, StreamClient } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilWholeStream } from './whole-stream.js';

/**
 * The newcomer's path, for real: a fresh clone, `pnpm install` (which builds),
 * then `pnpm start` as a child process. Its printed key must give, within 5 s,
 * `connected`, a snapshot per scope and live events of every scope, and its
 * printed console URL must serve the web console; SIGINT
 * to the whole process group (a terminal's Ctrl-C) must end `pnpm start`
 * itself with exit code 0 and no " ELIFECYCLE  Command failed." line.
 */
describe('pnpm start on a fresh clone', () => {
  let dir: string;
  let group: number | undefined;
  // Stops the clone or install when the hook times out: it would go on writing into the directory removed below.
  const setup = new AbortController();

  // Asynchronous, so the test worker keeps answering vitest while the clone installs and builds.
  beforeAll(async () => {
    const run = promisify(execFile);
    dir = mkdtempSync(join(tmpdir(), 'hydra-fresh-'));
    await run('git', ['clone', '--quiet', REPO_ROOT, dir], { signal: setup.signal, killSignal: 'SIGKILL' });
    await run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent'], {
      cwd: dir,
      maxBuffer: 64 * 1024 * 1024,
      signal: setup.signal,
      killSignal: 'SIGKILL',
    });
  }, 240_000);
  afterAll(async () => {
    setup.abort();
    // A failed test may leave the group running; it has exited on success (ESRCH).
    try {
      if (group) process.kill(-group, 'SIGKILL');
    } catch {}
    // Asynchronous too: removing a whole node_modules tree synchronously would block the worker (under load,
    // past vitest's RPC timeout, and vitest then drops the projects after this one).
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  it('prints a working demo key and stream URL, streams every scope, and exits 0 on SIGINT', async () => {
    const child = spawn('pnpm', ['start'], {
      cwd: dir,
      env: {
        ...process.env,
        HYDRA_PORT: '0',
        HYDRA_ADMIN_PORT: '0',
        HYDRA_PUBLISHER_PORT: '0',
        HYDRA_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, which the test signals as a terminal's Ctrl-C would
    });
    group = child.pid;
    // The exit code of `pnpm` itself, as the shell reports it (a signal death would be 128 + n there).
    const exited = new Promise<number | string | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal)),
    );
    let out = '';
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const banner = await new Promise<{ url: string; key: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner:\n${out}`)), 30_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const url = /Stream URL\s+(ws:\/\/\S+)/.exec(out)?.[1];
        const key = /Demo API key\s+(hydra_k1_[A-Za-z0-9_-]+)/.exec(out)?.[1];
        if (url && key) {
          clearTimeout(timer);
          resolve({ url: url.replace('localhost', '127.0.0.1'), key });
        }
      });
    });
    expect(out).toMatch(/pnpm hydra tail --url ws:\/\/\S+ --key hydra_k1_/);
    // The web console was built by the install and is served on the stream port, its URL carrying the key.
    const consoleUrl = /Console\s+(http:\/\/\S+)/.exec(out)?.[1] ?? '';
    expect(consoleUrl).toMatch(new RegExp(`/#key=${banner.key}$`));
    const page = await fetch(consoleUrl.replace('localhost', '127.0.0.1').replace(/#.*$/, ''));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('console.js');

    const started = performance.now();
    const client = new StreamClient(`${banner.url}?apiKey=${banner.key}`);
    try {
      await untilWholeStream(client, 5000);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      // Ctrl-C as a terminal sends it: SIGINT to every process of the foreground group (pnpm, node).
      if (child.pid) process.kill(-child.pid, 'SIGINT');
    }
    const close = await client.closed;
    expect(close.code).toBe(1001);
    expect(await exited).toBe(0);
    expect(out).not.toMatch(/ELIFECYCLE|Command failed/);
  }, 60_000);
});
