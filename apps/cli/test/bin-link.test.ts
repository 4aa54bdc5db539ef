import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import { REPO_ROOT, startRedis } from '@hydra/test-support';
import { describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * `pnpm hydra …` works on a fresh clone only if the bin file exists when pnpm
 * links bins, which is before the root "prepare" step builds dist/: the bin
 * must be a file committed to git, not a build output.
 */
describe('the hydra bin', () => {
  it('points at a file tracked by git (not under dist/), which starts the CLI', () => {
    const pkg = JSON.parse(readFileSync(`${pkgDir}/package.json`, 'utf8')) as { bin: Record<string, string> };
    const bin = pkg.bin.hydra ?? '';
    expect(bin).not.toMatch(/dist\//);
    const tracked = execFileSync('git', ['ls-files', '--error-unmatch', bin], { cwd: pkgDir, encoding: 'utf8' });
    expect(tracked.trim()).toBe(bin.replace(/^\.\//, ''));
    expect(readFileSync(`${pkgDir}/${bin}`, 'utf8')).toContain("import '../dist/cli.js'");
  });

  /** `pnpm hydra …` from the repository root, through pnpm's real bin link (node_modules/.bin/hydra). */
  const pnpmHydra = (args: string[], env: Record<string, string> = {}) =>
    spawnSync('pnpm', ['--silent', 'hydra', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('`pnpm hydra --help` runs the CLI from the repository root', () => {
    const run = pnpmHydra(['--help']);
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: hydra <command>/m);
    expect(run.stdout).toContain('keys create|revoke|list');
  });

  it('`pnpm hydra keys list --json` lists the keys of a real Redis', async () => {
    const redis = await startRedis();
    const backplane = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
    try {
      const { record, key } = await backplane.keys.create({ scopes: ['signals', 'alerts'], name: 'via-pnpm' });
      const run = pnpmHydra(['keys', 'list', '--json'], { HYDRA_REDIS_URL: redis.url });
      expect(run.status, run.stderr).toBe(0);
      const listed = JSON.parse(run.stdout) as { id: string; name: string | null; scopes: string[] }[];
      expect(listed).toEqual([
        expect.objectContaining({ id: record.id, name: 'via-pnpm', scopes: ['signals', 'alerts'] }),
      ]);
      expect(run.stdout).not.toContain(key);
    } finally {
      await backplane.close();
      await redis.stop();
    }
  });
});
