/**
 * docker-compose.yml, deploy/haproxy/haproxy.cfg and deploy/prometheus/prometheus.yml
 * checked offline: the file is valid for Debian's docker-compose, and services,
 * ports and env agree with the operator contract and with each other.
 */
import { startRedis } from '@hydra/test-support';
import { describe, expect, it } from 'vitest';
import {
  CONTRACT,
  FALLBACK_SWITCHES,
  GATEWAY_ENV,
  ipv4Within,
  KNOWN_ENV,
  loadYaml,
  PUBLISHER_ENV,
  readText,
  runTool,
  skipWithout,
} from './support.js';

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; target?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number)[];
  expose?: (string | number)[];
  command?: string[] | string;
  networks?: string[] | Record<string, unknown>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: string[];
  stop_grace_period?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } }>;
}

const compose = loadYaml(readText('docker-compose.yml')) as ComposeFile;
const services = compose.services;

function envOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

const gatewayNames = Object.keys(services)
  .filter((name) => services[name]!.build?.target === 'gateway')
  .sort();
const publisherNames = Object.keys(services).filter((name) => services[name]!.build?.target === 'publisher');

/** Container ports a published mapping like "127.0.0.1:8090:8090" points at. */
const containerPort = (mapping: string | number): number => Number(String(mapping).split(':').at(-1));

/** Seconds of a compose duration like "20s" or "1m30s". */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) {
    total += Number(n) * ({ h: 3600, m: 60, s: 1, ms: 0.001 } as Record<string, number>)[unit!]!;
  }
  return total;
}

describe('docker-compose.yml', () => {
  it.skipIf(skipWithout('docker-compose', 'docker-compose'))('passes `docker-compose config -q`', () => {
    runTool('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], 'docker-compose');
  });

  it('runs redis with an append-only file on a volume (the key store lives there)', () => {
    const redis = services['redis'];
    expect(redis?.image).toMatch(/^redis:7/);
    expect([redis?.command].flat().join(' ')).toMatch(/--appendonly yes/);
    expect(redis?.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
  });

  it('runs Redis freeing large keys off its main thread and never evicting, a command line this redis-server accepts', async () => {
    const [program, ...args] = [services['redis']?.command ?? []].flat();
    expect(program).toBe('redis-server');
    // The compose file's own arguments, after the helper's port and data directory (Redis takes the last of each).
    const redis = await startRedis({ args });
    try {
      const client = redis.client();
      const read = async (name: string) => ((await client.config('GET', name)) as string[])[1];
      expect(await read('lazyfree-lazy-expire')).toBe('yes');
      expect(await read('lazyfree-lazy-user-del')).toBe('yes');
      expect(await read('maxmemory-policy')).toBe('noeviction');
      expect(await read('appendonly')).toBe('yes');
    } finally {
      await redis.stop();
    }
  });

  it('fsyncs Redis as README.md, docs/operations.md and deploy/k8s/README.md say (one appendfsync policy everywhere)', () => {
    const composed = /--appendfsync (\w+)/.exec([services['redis']?.command].flat().join(' '))?.[1];
    expect(composed, 'docker-compose.yml sets --appendfsync').toBeDefined();
    const documented = ['README.md', 'docs/operations.md', 'deploy/k8s/README.md'].flatMap((file) =>
      [...readText(file).matchAll(/appendfsync[ ,`'"]+(\w+)/g)].map((m) => `${file}: ${m[1]}`),
    );
    expect(documented.length).toBeGreaterThan(1);
    for (const entry of documented) expect(entry.endsWith(`: ${composed}`), entry).toBe(true);
  });

  it('runs three gateways and one publisher with the demo feed, built from deploy/Dockerfile', () => {
    expect(gatewayNames).toEqual(['gateway-1', 'gateway-2', 'gateway-3']);
    expect(publisherNames).toEqual(['publisher']);
    for (const name of [...gatewayNames, ...publisherNames]) {
      expect(services[name]!.build?.dockerfile, name).toBe('deploy/Dockerfile');
      expect(services[name]!.build?.context, name).toBe('.');
    }
    expect(envOf(services['publisher']!)['HYDRA_DEMO_FEED']).toBe('true');
  });

  it('sets only known HYDRA_* variables, each on the process that reads it, and no fallback switch', () => {
    for (const [name, service] of Object.entries(services)) {
      const env = envOf(service);
      for (const key of Object.keys(env)) {
        expect(FALLBACK_SWITCHES, `${name} sets ${key}`).not.toContain(key);
        if (!key.startsWith('HYDRA_')) continue;
        expect(KNOWN_ENV.has(key), `${name}: unknown variable ${key}`).toBe(true);
        if (gatewayNames.includes(name))
          expect(GATEWAY_ENV.has(key), `${name}: ${key} is not a gateway variable`).toBe(true);
        if (publisherNames.includes(name)) {
          expect(PUBLISHER_ENV.has(key), `${name}: ${key} is not a publisher variable`).toBe(true);
        }
      }
    }
  });

  it('points every process at the redis service', () => {
    for (const name of [...gatewayNames, ...publisherNames]) {
      expect(envOf(services[name]!)['HYDRA_REDIS_URL'], name).toBe('redis://redis:6379');
      const dependsOn = services[name]!.depends_on;
      const deps = Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn ?? {});
      expect(deps, name).toContain('redis');
    }
  });

  it('exposes the contract ports, and the gateways publish none (clients come through HAProxy)', () => {
    for (const name of gatewayNames) {
      const service = services[name]!;
      const env = envOf(service);
      expect(Number(env['HYDRA_PORT']), name).toBe(CONTRACT.port);
      expect(Number(env['HYDRA_ADMIN_PORT']), name).toBe(CONTRACT.adminPort);
      expect((service.expose ?? []).map(Number).sort(), name).toEqual([CONTRACT.port, CONTRACT.adminPort].sort());
      expect(service.ports ?? [], `${name} must not publish ports`).toEqual([]);
    }
    const publisher = services['publisher']!;
    expect(Number(envOf(publisher)['HYDRA_PUBLISHER_PORT'])).toBe(CONTRACT.publisherPort);
    expect((publisher.ports ?? []).map(containerPort)).toContain(CONTRACT.publisherPort);
    expect(envOf(publisher)['HYDRA_INGEST_TOKEN']).toBeTruthy();
    expect((services['haproxy']?.ports ?? []).map(containerPort)).toContain(CONTRACT.port);
  });

  it('gives the gateways a stop grace period longer than the drain window', () => {
    for (const name of gatewayNames) {
      const drainSeconds = Number(envOf(services[name]!)['HYDRA_DRAIN_MS'] ?? CONTRACT.drainMs) / 1000;
      expect(seconds(services[name]!.stop_grace_period ?? '10s'), name).toBeGreaterThan(drainSeconds + 5);
    }
  });

  it('trusts X-Forwarded-For only from the pinned compose subnet HAProxy lives in', () => {
    const networks = compose.networks ?? {};
    const haproxyNetworks = services['haproxy']?.networks ?? [];
    const haproxyNetworkNames = Array.isArray(haproxyNetworks) ? haproxyNetworks : Object.keys(haproxyNetworks);
    expect(haproxyNetworkNames.length).toBeGreaterThan(0);
    const subnets = haproxyNetworkNames.flatMap((n) => networks[n]?.ipam?.config?.map((c) => c.subnet) ?? []);
    expect(subnets.length, 'the HAProxy network must pin its subnet').toBeGreaterThan(0);
    for (const name of gatewayNames) {
      const trusted = (envOf(services[name]!)['HYDRA_TRUSTED_PROXIES'] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      expect(trusted.length, `${name} needs HYDRA_TRUSTED_PROXIES`).toBeGreaterThan(0);
      expect(trusted, `${name} must not trust everyone`).not.toContain('0.0.0.0/0');
      for (const subnet of subnets) {
        expect(
          trusted.some((cidr) => ipv4Within(subnet!, cidr)),
          `${name}: HAProxy subnet ${subnet} outside ${trusted}`,
        ).toBe(true);
      }
      const gatewayNetworks = services[name]!.networks ?? [];
      expect(Array.isArray(gatewayNetworks) ? gatewayNetworks : Object.keys(gatewayNetworks)).toEqual(
        haproxyNetworkNames,
      );
    }
  });

  it('mounts the HAProxy, Prometheus and Grafana files from deploy/', () => {
    expect(services['haproxy']?.volumes).toContain(
      './deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro',
    );
    expect(services['prometheus']?.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
    expect(services['grafana']?.volumes).toEqual(
      expect.arrayContaining([
        './deploy/grafana/provisioning:/etc/grafana/provisioning:ro',
        './deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro',
      ]),
    );
  });
});

describe('deploy/haproxy/haproxy.cfg', () => {
  const cfg = readText('deploy/haproxy/haproxy.cfg')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);

  it('balances over exactly the compose gateways on the WebSocket port', () => {
    const servers = cfg.filter((l) => l.startsWith('server ')).map((l) => l.split(/\s+/));
    expect(servers.map((s) => s[1]).sort()).toEqual(gatewayNames);
    for (const s of servers) expect(s[2]).toBe(`${s[1]}:${CONTRACT.port}`);
    expect(cfg).toContain(`bind :${CONTRACT.port}`);
  });

  it('health-checks /readyz on the admin port, so draining gateways get no new clients', () => {
    expect(cfg).toContain(`option httpchk GET ${CONTRACT.readyPath}`);
    const defaults = cfg.find((l) => l.startsWith('default-server'));
    expect(defaults).toMatch(new RegExp(`\\bcheck port ${CONTRACT.adminPort}\\b`));
  });

  it('replaces any client X-Forwarded-For with the address it saw', () => {
    expect(cfg).toContain('mode http');
    expect(cfg).toContain('option forwardfor');
    expect(cfg.map((l) => l.toLowerCase())).toContain('http-request del-header x-forwarded-for');
    expect(cfg.some((l) => l.startsWith('timeout tunnel'))).toBe(true);
  });
});

describe('deploy/prometheus/prometheus.yml (targets)', () => {
  const prometheus = loadYaml(readText('deploy/prometheus/prometheus.yml')) as {
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };
  const targetsOf = (job: string) =>
    prometheus.scrape_configs.find((c) => c.job_name === job)?.static_configs.flatMap((s) => s.targets) ?? [];

  it('scrapes every gateway admin port and the publisher', () => {
    expect(targetsOf('hydra-gateway').sort()).toEqual(gatewayNames.map((n) => `${n}:${CONTRACT.adminPort}`));
    expect(targetsOf('hydra-publisher')).toEqual([`publisher:${CONTRACT.publisherPort}`]);
    for (const job of ['hydra-gateway', 'hydra-publisher']) {
      const config = prometheus.scrape_configs.find((c) => c.job_name === job);
      expect(config?.metrics_path ?? '/metrics').toBe(CONTRACT.metricsPath);
    }
  });
});
