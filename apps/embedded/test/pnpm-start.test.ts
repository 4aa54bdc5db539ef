import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCOPES } from '@hydra/protocol';
import { REPO_ROOT, StreamClient } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The newcomer's path, for real: a fresh clone, `pnpm install` (which builds),
 * then `pnpm start` as a child process. Its printed key must give, within 5 s,
 * `connected`, a snapshot per scope and live events of every scope; SIGINT
 * must end it with exit code 0.
 */
describe('pnpm start on a fresh clone', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hydra-fresh-'));
    execFileSync('git', ['clone', '--quiet', REPO_ROOT, dir]);
    execFileSync('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }, 240_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
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
      detached: true, // its own process group, so SIGINT reaches node through pnpm like a terminal's Ctrl-C
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
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

    const started = performance.now();
    const client = new StreamClient(`${banner.url}?apiKey=${banner.key}`);
    try {
      await client.until(
        () =>
          client.messages[0]?.type === 'connected' &&
          SCOPES.every((scope) =>
            client.messages.some((m) => m.type === 'snapshot' && (m.data as { scope: string }).scope === scope),
          ) &&
          SCOPES.every((scope) => client.messages.some((m) => m.type === scope)),
        5000,
        'connected, a snapshot per scope and live events of every scope',
      );
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      // Ctrl-C as the product sees it: SIGINT to the Node process `pnpm start` runs. (A terminal
      // signals pnpm too, which then reports 130 itself whatever its child's exit code.)
      const pid = child.pid ? findInGroup(child.pid, 'apps/embedded/dist/main.js') : undefined;
      if (pid) process.kill(pid, 'SIGINT');
      else if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }
    const close = await client.closed;
    expect(close.code).toBe(1001);
    expect(await exited).toBe(0);
  }, 60_000);
});

/** The pid of the `node <script>` process in process group `pgid` (not the `sh -c` around it). */
function findInGroup(pgid: number, script: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const [exe = '', argv1 = ''] = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (/(^|\/)node$/.test(exe) && argv1 === script) return Number(entry);
    } catch {
      // the process ended meanwhile
    }
  }
  return undefined;
}
