import { spawn } from 'node:child_process';
import { freePort, REPO_ROOT, startRedis, type TestRedis } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs the built CLI (`pnpm test` builds first), as an operator would.
const CLI = 'apps/cli/dist/cli.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI with `env` over this process's environment; an `undefined` value unsets the variable. */
function hydra(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const started = Date.now();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

let redis: TestRedis;
let env: Record<string, string>;

beforeAll(async () => {
  redis = await startRedis();
  env = { HYDRA_REDIS_URL: redis.url };
});

afterAll(async () => {
  await redis?.stop();
});

describe('hydra keys', () => {
  it('create --json prints one JSON object with the key, shown once', async () => {
    const run = await hydra(
      ['keys', 'create', '--scopes', 'signals,aircraft', '--ttl', '3600', '--name', 'ci', '--json'],
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const created = JSON.parse(run.stdout);
    expect(Object.keys(created).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'key', 'name', 'scopes']);
    expect(created.key).toMatch(/^hydra_k1_/);
    expect(created.id).toEqual(expect.any(String));
    expect(created.name).toBe('ci');
    expect(created.scopes).toEqual(['signals', 'aircraft']);
    expect(Date.parse(created.expiresAt) - Date.parse(created.createdAt)).toBe(3_600_000);
  });

  it('create without --json shows the key once, with a warning', async () => {
    const run = await hydra(['keys', 'create', '--scopes', 'cyber'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/hydra_k1_\S+/);
    expect(run.stdout).toMatch(/will not be shown again/);
    expect(run.stdout).toMatch(/expires: +never/);
  });

  it('list never prints keys; revoke works by id and by key', async () => {
    const a = JSON.parse(
      (await hydra(['keys', 'create', '--scopes', 'alerts', '--name', 'by-id', '--json'], env)).stdout,
    );
    const b = JSON.parse(
      (await hydra(['keys', 'create', '--scopes', 'alerts', '--name', 'by-key', '--json'], env)).stdout,
    );

    const list = await hydra(['keys', 'list', '--json'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain('hydra_k1_');
    expect(list.stdout).not.toMatch(/[0-9a-f]{64}/);
    const listed = JSON.parse(list.stdout) as { id: string; status: string; name: string }[];
    expect(listed.find((k) => k.id === a.id)).toMatchObject({ name: 'by-id', status: 'valid' });

    const byId = await hydra(['keys', 'revoke', a.id, '--json'], env);
    expect(byId.code).toBe(0);
    expect(JSON.parse(byId.stdout)).toMatchObject({ id: a.id, status: 'revoked' });

    const byKey = await hydra(['keys', 'revoke', b.key], env);
    expect(byKey.code).toBe(0);
    expect(byKey.stdout).toContain(b.id);
    expect(byKey.stdout).not.toContain(b.key);

    const after = JSON.parse((await hydra(['keys', 'list', '--json'], env)).stdout) as { id: string; status: string }[];
    expect(after.filter((k) => k.id === a.id || k.id === b.id).map((k) => k.status)).toEqual(['revoked', 'revoked']);

    const text = await hydra(['keys', 'list'], env);
    expect(text.stdout).toMatch(/^ID +NAME +SCOPES +CREATED +EXPIRES +STATUS/);
    expect(text.stdout).not.toContain('hydra_k1_');
  }, 90_000); // six CLI processes in turn, each a Node start: 5 s or more apiece on a box loaded 15× its cores (30 s ran out once)

  it('revoke of an unknown key exits 1 without echoing it', async () => {
    const run = await hydra(['keys', 'revoke', 'hydra_k1_doesnotexist'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no such key/);
    expect(run.stderr).not.toContain('doesnotexist');
  });

  it.each([
    [['keys', 'create', '--scopes', 'signals,weather']],
    [['keys', 'create', '--scopes', 'signals', '--ttl', '-5']],
    [['keys', 'create', '--scopes', 'signals', '--ttl', 'abc']],
    [['keys', 'create']],
    [['keys', 'revoke']],
    [['keys']],
    [['bogus']],
  ])('%j exits 2 with a message on stderr', async (args) => {
    const run = await hydra(args, env);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^hydra: /);
  });

  // 5, not 3 as before the one exit-code table: 3 is "unauthorized" for every command (tail's 1008).
  it('exits 5 within a few seconds when Redis is unreachable', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const run = await hydra(['keys', 'list', '--json'], { HYDRA_REDIS_URL: url });
    expect(run.code).toBe(5);
    expect(JSON.parse(run.stderr)).toEqual({ error: expect.stringMatching(/cannot reach Redis/), exitCode: 5 });
    expect(run.ms).toBeLessThan(8000);
  });

  // Next to `pnpm start` on the in-memory backplane, a default Redis URL would "succeed" against another store.
  it.each([
    [['keys', 'list']],
    [['keys', 'create', '--scopes', 'signals']],
    [['keys', 'revoke', 'key_abc']],
  ])('%j without HYDRA_REDIS_URL exits 2, pointing at the key pnpm start prints', async (args) => {
    const run = await hydra(args, { HYDRA_REDIS_URL: undefined });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^hydra: HYDRA_REDIS_URL is not set/);
    expect(run.stderr).toMatch(/in-memory backplane/);
    expect(run.stderr).toMatch(/use the demo key it prints/);
  });

  it.each([
    [['keys', 'list', '--json']],
    [['keys', 'create', '--scopes', 'signals', '--json']],
    [['keys', 'revoke', 'key_abc', '--json']],
  ])('%j without HYDRA_REDIS_URL prints its error as JSON on stderr', async (args) => {
    const run = await hydra(args, { HYDRA_REDIS_URL: undefined });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(JSON.parse(run.stderr)).toEqual({
      error: expect.stringMatching(/^HYDRA_REDIS_URL is not set.*in-memory backplane/),
      exitCode: 2,
    });
  });

  it('revoke --json of an unknown key exits 1 with a JSON error on stderr, not echoing the key', async () => {
    const run = await hydra(['keys', 'revoke', 'hydra_k1_doesnotexist', '--json'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(JSON.parse(run.stderr)).toEqual({ error: expect.stringMatching(/no such key/), exitCode: 1 });
    expect(run.stderr).not.toContain('doesnotexist');
  });

  it.each([
    [['keys', 'create', '--scopes', 'signals,weather', '--json']],
    [['keys', 'create', '--json']],
    [['keys', 'revoke', '--json']],
    [['keys', 'list', '--all', '--json']],
  ])('%j is a usage error reported as JSON on stderr', async (args) => {
    const run = await hydra(args, env);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run.stderr)).toEqual({ error: expect.any(String), exitCode: 2 });
  });

  // Before the one exit-code table a refused login read as "Redis unreachable" (3); it is "unauthorized" (3) now.
  it('exits 3 when Redis refuses the login, without printing the password', async () => {
    const locked = await startRedis({ args: ['--requirepass', 'cli-test-secret'] });
    try {
      if (!locked.canRestart) return; // a container Redis ignores extra arguments: nothing is locked
      const port = new URL(locked.url).port;
      const none = await hydra(['keys', 'list'], { HYDRA_REDIS_URL: `redis://127.0.0.1:${port}` });
      expect(none.code).toBe(3);
      expect(none.stderr).toMatch(/^hydra: Redis at \S+ refused the login \(NOAUTH/);
      const wrong = await hydra(['keys', 'list', '--json'], { HYDRA_REDIS_URL: `redis://:not-it@127.0.0.1:${port}` });
      expect(wrong.code).toBe(3);
      expect(JSON.parse(wrong.stderr)).toEqual({ error: expect.stringMatching(/refused the login/), exitCode: 3 });
      expect(wrong.stderr).not.toContain('not-it');
    } finally {
      await locked.stop();
    }
  });

  it('prints help with exit 0', async () => {
    const main = await hydra(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/Usage: hydra/);
    const keys = await hydra(['keys', '--help']);
    expect(keys.code).toBe(0);
    expect(keys.stdout).toMatch(/hydra keys <command>/);
    expect(keys.stdout).toMatch(/in-memory backplane/);
  });
});

/** `hydra tail` and `hydra keys` share one error style, one help style and one exit-code table. */
describe('one CLI', () => {
  it('reports a tail usage error like a keys usage error: `hydra: …`, then where the help is', async () => {
    const tail = await hydra(['tail', '--key', 'K', '--bogus']);
    expect(tail.code).toBe(2);
    expect(tail.stdout).toBe('');
    expect(tail.stderr).toBe(`hydra: Unknown option '--bogus'\nRun "hydra tail --help" for usage.\n`);
    const keys = await hydra(['keys', 'list', '--bogus'], env);
    expect(keys.code).toBe(2);
    expect(keys.stderr).toBe(`hydra: Unknown option '--bogus'\nRun "hydra --help" for usage.\n`);
  });

  it('reports a tail usage error of a --json invocation as one JSON object, like keys', async () => {
    const run = await hydra(['tail', '--json'], { HYDRA_API_KEY: undefined });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stderr)).toEqual({ error: 'missing --key (or set HYDRA_API_KEY)', exitCode: 2 });
  });

  it('prints the same exit-code table in the help of every command', async () => {
    const pages = await Promise.all(
      [['--help'], ['keys', '--help'], ['keys', 'create', '--help'], ['tail', '--help']].map((a) => hydra(a)),
    );
    const tables = pages.map((p) => {
      expect(p.code).toBe(0);
      return p.stdout.slice(p.stdout.indexOf('Exit codes'));
    });
    expect(tables[0]).toMatch(/^Exit codes \(the same for every hydra command\):\n {2}0 {2}success/);
    expect(tables[0]).toMatch(/\n {2}3 {2}unauthorized/);
    expect(tables[0]).toMatch(/\n {2}5 {2}unavailable/);
    for (const table of tables) expect(table).toBe(tables[0]);
  });
});
