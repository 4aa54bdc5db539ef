/**
 * Replays the build stage of deploy/Dockerfile without an engine: its COPY,
 * WORKDIR, ENV and RUN instructions, read from the file (so this cannot drift
 * from it), run in a temporary copy of the build context with `/src` and
 * `/out` mapped to temporary directories. Then each runtime target's tree is
 * laid out where its COPY --from=build puts it, its RUN checks run, and its
 * CMD starts against a real Redis: the gateway must come up on the native uWS
 * binary (it refuses the fallback) and stay small.
 *
 * Differences from a real build, none of which touch what is tested: the
 * host's pnpm (same version, checked) instead of `npm install -g`, and the
 * host's content-addressable store (so `pnpm fetch` verifies rather than
 * downloads). pnpm's metadata cache starts empty, as in a fresh image.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, startRedis, type TestRedis } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerfile, envOf } from './dockerfile.js';
import { CONTRACT, ROOT, readText, repoPath } from './support.js';

/** Bound on the gateway's deployed tree (dist + production node_modules, one uWS binary). */
const GATEWAY_TREE_LIMIT_BYTES = 60 * 1024 * 1024;
const STEP_TIMEOUT_MS = 240_000;

/** .dockerignore as a predicate on repo-relative paths (`**`, `*`, and directory prefixes). */
function dockerignore(): (path: string) => boolean {
  const patterns = readText('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((p) => {
      const body = p
        .replace(/^\//, '')
        .split(/(\*\*\/|\*)/)
        .map((part) =>
          part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      return new RegExp(`^${body}$`);
    });
  return (path) => {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (patterns.some((re) => re.test(prefix))) return true;
    }
    return false;
  };
}

/** Apparent size of a tree (regular files; symlinks not followed), like the image layer holds it. */
function treeBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) total += treeBytes(path);
    else if (st.isFile()) total += st.size;
  }
  return total;
}

describe('deploy/Dockerfile build stage, replayed', () => {
  let tmp: string;
  let redis: TestRedis;
  const mb: Record<string, number> = {};
  const running: ChildProcess[] = [];

  /** Maps the image's absolute paths to the temporary directories. */
  let mapPath: (text: string) => string;
  let env: Record<string, string>;

  /**
   * One RUN step, asynchronously: a spawnSync of `pnpm install && pnpm build` blocks this worker for minutes,
   * and any vitest RPC in flight then times out when the loop resumes (timers run before the reply is read):
   * "Timeout calling onTaskUpdate", which fails the whole `main` project and silently skips `solo`.
   */
  const run = (script: string, cwd: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('sh', ['-ec', mapPath(script)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-4000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
      child.on('error', reject);
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        if (status === 0) resolve();
        else reject(new Error(`RUN ${script}\nexited ${status ?? signal}:\n${output}`));
      });
    });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'hydra-image-'));
    for (const dir of ['src', 'out', 'cache', 'app']) mkdirSync(join(tmp, dir));
    mapPath = (text) =>
      text.replace(/(?<![\w./-])\/(src|out|app)(?=\/|\s|$|["'])/g, (_, dir: string) => join(tmp, dir));
    const storeDir = spawnSync('pnpm', ['store', 'path'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? tmp,
      XDG_CACHE_HOME: join(tmp, 'cache'),
      npm_config_store_dir: storeDir,
    };

    const ignored = dockerignore();
    let workdir = '/';
    const build = dockerfile.effective('build').instructions;
    for (const ins of build) {
      switch (ins.op) {
        case 'WORKDIR':
          workdir = mapPath(ins.args);
          mkdirSync(workdir, { recursive: true });
          break;
        case 'ENV':
          for (const [k, v] of envOf([ins])) env[k] = v;
          break;
        case 'COPY': {
          const args = ins.args.split(/\s+/);
          if (args.some((a) => a.startsWith('--'))) throw new Error(`unsupported COPY in the build stage: ${ins.args}`);
          const dest = args.pop()!;
          if (dest !== './' && dest !== '.') throw new Error(`unsupported COPY destination: ${ins.args}`);
          for (const source of args) {
            if (source === '.') {
              cpSync(ROOT, workdir, {
                recursive: true,
                filter: (from) => from === ROOT.replace(/\/$/, '') || !ignored(from.slice(ROOT.length)),
              });
            } else {
              copyFileSync(repoPath(source), join(workdir, source));
            }
          }
          break;
        }
        case 'RUN': {
          const pnpmInstall = /^npm install -g pnpm@(\S+)$/.exec(ins.args);
          if (pnpmInstall) {
            const version = spawnSync('pnpm', ['--version'], { encoding: 'utf8' }).stdout.trim();
            expect(version, 'the host pnpm must be the one the image installs').toBe(pnpmInstall[1]);
            break;
          }
          await run(ins.args, workdir);
          break;
        }
        default:
          throw new Error(`build stage instruction not replayed: ${ins.op} ${ins.args}`);
      }
    }
    // The runtime images hold only /out: nothing may resolve into the build context.
    rmSync(join(tmp, 'src'), { recursive: true, force: true });
    redis = await startRedis();
  }, 2 * STEP_TIMEOUT_MS);

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await redis?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (Object.keys(mb).length > 0) console.info(`[image] deployed trees: ${JSON.stringify(mb)} (MB)`);
  });

  /** Lays a target's tree out as its COPY --from=build does and runs its own RUN checks. */
  async function layOut(target: string): Promise<string> {
    const list = dockerfile.stages.find((s) => s.name === target)!.instructions;
    for (const ins of list.filter((i) => i.op === 'COPY')) {
      const [from, source, dest] = ins.args.split(/\s+/);
      expect(from).toBe('--from=build');
      const target = mapPath(dest!);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(mapPath(source!), target);
    }
    const root = join(tmp, 'app');
    for (const ins of list.filter((i) => i.op === 'RUN')) await run(ins.args, root);
    return root;
  }

  /** Starts a target's CMD from the tree, with its ENV, on free ports; resolves once /healthz answers 200. */
  async function start(target: string, root: string, healthPortVar: string, extra: Record<string, string>) {
    const { instructions: list } = dockerfile.effective(target);
    const imageEnv = Object.fromEntries(envOf(list));
    const ports: Record<string, string> = {};
    for (const k of Object.keys(imageEnv)) if (/PORT$/.test(k)) ports[k] = String(await freePort());
    const cmd = JSON.parse(list.filter((i) => i.op === 'CMD').at(-1)!.args) as string[];
    expect(cmd[0]).toBe('node');
    const child = spawn(process.execPath, cmd.slice(1), {
      cwd: root,
      env: { PATH: env.PATH, ...imageEnv, ...ports, HYDRA_REDIS_URL: redis.url, ...extra },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.push(child);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const deadline = performance.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`);
      if (performance.now() > deadline) throw new Error(`no /healthz within 20 s: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${ports[healthPortVar]}${CONTRACT.livePath}`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return { child, ports };
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('deploys a small gateway tree that starts on the native uWS binary, the web console in it', async () => {
    const bytes = treeBytes(join(tmp, 'out', 'gateway'));
    mb.gateway = Math.round((bytes / 1024 / 1024) * 10) / 10;
    expect(bytes, `gateway tree is ${mb.gateway} MB`).toBeLessThan(GATEWAY_TREE_LIMIT_BYTES);
    const root = await layOut('gateway');
    const { ports } = await start('gateway', root, 'HYDRA_ADMIN_PORT', { HYDRA_CONSOLE: 'true' });
    const metrics = await (await fetch(`http://127.0.0.1:${ports.HYDRA_ADMIN_PORT}${CONTRACT.metricsPath}`)).text();
    expect(metrics).toMatch(/^hydra_connections 0$/m);
    // The console's built page travels with the gateway (a dependency of it): served with HYDRA_CONSOLE=true.
    const page = await fetch(`http://127.0.0.1:${ports.HYDRA_PORT}/console.js`);
    expect(page.status).toBe(200);
  });

  it('deploys a publisher tree that starts, with the admin CLI beside it', async () => {
    mb.publisher = Math.round((treeBytes(join(tmp, 'out', 'publisher')) / 1024 / 1024) * 10) / 10;
    const root = await layOut('publisher');
    await start('publisher', root, 'HYDRA_PUBLISHER_PORT', {
      HYDRA_INGEST_TOKEN: 'image-test-token-0123456789',
    });
    // `docker run … hydra-publisher node apps/cli/dist/cli.js keys …`, as the Dockerfile documents.
    const cli = spawnSync(process.execPath, ['apps/cli/dist/cli.js', 'keys', 'list', '--json'], {
      cwd: root,
      env: { PATH: env.PATH, NODE_ENV: 'production', HYDRA_REDIS_URL: redis.url },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(cli.status, cli.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(cli.stdout))).toBe(true);
  });
});
