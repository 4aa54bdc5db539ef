/**
 * The deployment files against the code's own config parsers: every env block
 * in docker-compose.yml and deploy/k8s parses with the gateway's and
 * publisher's config schema (the same code that stops a process on a bad
 * value), yields the contract ports, and sets no variable the code never reads.
 */
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../apps/gateway/src/config.js';
import { parsePublisherConfig } from '../../apps/publisher/src/config.js';
import { CONTRACT, filesUnder, hydraNamesIn, loadYaml, loadYamlDocuments, readText } from './support.js';

type Env = Record<string, string>;

const compose = loadYaml(readText('docker-compose.yml')) as {
  services: Record<string, { build?: { target?: string }; environment?: Record<string, unknown> }>;
};
const composeEnv = (target: string): [string, Env][] =>
  Object.entries(compose.services)
    .filter(([, s]) => s.build?.target === target)
    .map(([name, s]) => [
      name,
      // ${VAR:-default} interpolation as compose does it with VAR unset.
      Object.fromEntries(
        Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')]),
      ),
    ]);

const k8sDocs = filesUnder('deploy/k8s', (n) => n.endsWith('.yaml')).flatMap((f) => loadYamlDocuments(readText(f)));
const configMap = (name: string): Env =>
  (k8sDocs.find((d) => d['kind'] === 'ConfigMap' && (d['metadata'] as { name: string }).name === name)?.['data'] ??
    {}) as Env;
const secret = (k8sDocs.find((d) => d['kind'] === 'Secret')?.['stringData'] ?? {}) as Env;

describe('deployment env parses with the application config', () => {
  it.each(composeEnv('gateway'))('compose %s', (_name, env) => {
    const config = parseGatewayConfig(env);
    expect(config.port).toBe(CONTRACT.port);
    expect(config.adminPort).toBe(CONTRACT.adminPort);
    expect(config.drainMs).toBe(CONTRACT.drainMs);
    expect(config.trustedProxies.length).toBeGreaterThan(0);
    expect(config.allowUwsFallback).toBe(false);
    expect(config.redis).toMatchObject({ mode: 'standalone', url: 'redis://redis:6379' });
  });

  it.each(composeEnv('publisher'))('compose %s', (_name, env) => {
    const config = parsePublisherConfig(env);
    expect(config.port).toBe(CONTRACT.publisherPort);
    expect(config.ingestToken).toBeTruthy();
  });

  it('k8s gateway (ConfigMap + Secret)', () => {
    const config = parseGatewayConfig({
      ...configMap('hydra-gateway-config'),
      HYDRA_REDIS_URL: secret['HYDRA_REDIS_URL']!,
    });
    expect(config.port).toBe(CONTRACT.port);
    expect(config.adminPort).toBe(CONTRACT.adminPort);
    expect(config.trustedProxies).toEqual([]);
    expect(config.allowUwsFallback).toBe(false);
  });

  it('k8s publisher (ConfigMap + Secret)', () => {
    const config = parsePublisherConfig({ ...configMap('hydra-publisher-config'), ...secret });
    expect(config.port).toBe(CONTRACT.publisherPort);
  });
});

describe('the code reads every HYDRA_* variable the deployment sets', () => {
  // The Redis variables are read once for every process, in packages/config (readRedisTarget).
  const source = ['apps', 'packages']
    .flatMap((root) => filesUnder(root, (n) => n.endsWith('.ts') && !n.endsWith('.test.ts') && !n.endsWith('.d.ts')))
    .filter((f) => /^(apps|packages)\/[^/]+\/src\//.test(f))
    .map((f) => readText(f))
    .join('\n');
  const set = new Set(
    ['docker-compose.yml', ...filesUnder('deploy/k8s', (n) => n.endsWith('.yaml'))].flatMap((f) =>
      hydraNamesIn(readText(f).replace(/#.*$/gm, '')),
    ),
  );

  it.each([...set].sort())('%s', (name) => {
    const read = new RegExp(`['"\`]${name}['"\`]`).test(source);
    expect(read, `${name} is set by a deployment file but read nowhere in apps/*/src`).toBe(true);
  });
});
