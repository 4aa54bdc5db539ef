/**
 * deploy/Dockerfile read statically (no engine here): the runtime targets run
 * the contract processes as a non-root user on a bookworm (glibc 2.36) Node 20
 * base, under an init, and never enable uWS's JavaScript fallback.
 */
import { describe, expect, it } from 'vitest';
import { dockerfile, envOf, type Instruction } from './dockerfile.js';
import { CONTRACT, FALLBACK_SWITCHES, hydraNamesIn, KNOWN_ENV, readText } from './support.js';

const { instructions, stages, effective } = dockerfile;
const last = (list: Instruction[], op: string) => list.filter((i) => i.op === op).at(-1)?.args;

const BOOKWORM_NODE_20 = /^(docker\.io\/(library\/)?)?node:20(\.\d+){0,2}-bookworm(-slim)?(@sha256:[0-9a-f]{64})?$/;

describe('deploy/Dockerfile', () => {
  it('builds every stage from Node 20 on Debian bookworm (glibc 2.36, uWS ABI 115)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    for (const stage of stages) {
      if (stages.some((s) => s.name === stage.from)) continue;
      expect(stage.from, `stage ${stage.name}`).toMatch(BOOKWORM_NODE_20);
    }
  });

  it('installs the pnpm version of package.json "packageManager" and a frozen lockfile', () => {
    const packageManager = (JSON.parse(readText('package.json')) as { packageManager: string }).packageManager;
    const build = effective('build')
      .instructions.filter((i) => i.op === 'RUN')
      .map((i) => i.args);
    expect(build.join('\n')).toContain(`pnpm@${packageManager.replace(/^pnpm@/, '').split('+')[0]}`);
    expect(build.join('\n')).toMatch(/pnpm install --frozen-lockfile/);
    expect(build.join('\n')).toMatch(/pnpm build/);
  });

  describe.each([
    ['gateway', CONTRACT.gatewayMain, [CONTRACT.port, CONTRACT.adminPort], 'HYDRA_ADMIN_PORT'],
    ['publisher', CONTRACT.publisherMain, [CONTRACT.publisherPort], 'HYDRA_PUBLISHER_PORT'],
  ] as const)('target %s', (target, main, ports, healthPortVar) => {
    const { instructions: list } = effective(target);

    it('runs as a non-root user', () => {
      const user = last(list, 'USER');
      expect(user, 'no USER').toBeDefined();
      expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);
    });

    it('sets NODE_ENV=production and forwards signals through tini', () => {
      expect(envOf(list).get('NODE_ENV')).toBe('production');
      expect(JSON.parse(last(list, 'ENTRYPOINT') ?? '[]')).toEqual(['/usr/bin/tini', '--']);
      expect(list.some((i) => i.op === 'RUN' && /apt-get install[^&]*\btini\b/.test(i.args))).toBe(true);
    });

    it('starts the contract process', () => {
      expect(JSON.parse(last(list, 'CMD') ?? '[]')).toEqual(['node', main]);
    });

    it('exposes its ports and health-checks /healthz with node (no curl in slim)', () => {
      const exposed = list.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map(Number));
      expect(exposed.sort()).toEqual([...ports].sort());
      const health = last(list, 'HEALTHCHECK') ?? '';
      expect(health).toMatch(/CMD \["node"/);
      expect(health).toContain(CONTRACT.livePath);
      expect(health).toContain(healthPortVar);
      expect(health).toContain(String(target === 'gateway' ? CONTRACT.adminPort : CONTRACT.publisherPort));
    });
  });

  it('checks at build time that the uWS native binary loads', () => {
    const gatewayRuns = effective('gateway').instructions.filter((i) => i.op === 'RUN');
    expect(gatewayRuns.some((i) => /uws_'\+process\.platform/.test(i.args))).toBe(true);
  });

  it('sets only known HYDRA_* variables', () => {
    for (const ins of instructions.filter((i) => i.op === 'ENV' || i.op === 'ARG')) {
      for (const name of hydraNamesIn(ins.args)) expect(KNOWN_ENV.has(name), `${ins.op} ${name}`).toBe(true);
    }
  });

  it('never enables the uWS fallback', () => {
    for (const ins of instructions) {
      for (const name of FALLBACK_SWITCHES) expect(ins.args, `${ins.op} ${ins.args}`).not.toContain(name);
    }
  });
});

describe('.dockerignore', () => {
  it('keeps host builds and dependencies out of the build context', () => {
    const patterns = readText('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['**/node_modules', '**/dist', '.git', '.env']) expect(patterns).toContain(p);
    for (const needed of ['pnpm-lock.yaml', 'package.json', 'apps', 'packages', 'deploy/Dockerfile']) {
      expect(patterns, `${needed} is needed by the build`).not.toContain(needed);
    }
  });
});
