/**
 * deploy/compose/sentinel.yml over docker-compose.yml, checked offline: Debian's
 * docker-compose validates and merges the two files, and the merged stack is
 * held to the topology it claims (a primary, replicas that follow it, three
 * sentinels whose master group is the one the processes name) and parsed with
 * the gateway's and publisher's own config code.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../apps/gateway/src/config.js';
import { parsePublisherConfig } from '../../apps/publisher/src/config.js';
import { CONTRACT, loadYaml, readText, repoPath, skipWithout } from './support.js';

interface Service {
  image?: string;
  build?: { target?: string };
  command?: string[] | string;
  environment?: Record<string, string | number | null>;
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }>;
}

const FILES = ['-f', 'docker-compose.yml', '-f', 'deploy/compose/sentinel.yml'];
const noCompose = skipWithout('docker-compose', 'docker-compose');
/** docker-compose with the two files, spawned asynchronously (a synchronous spawn of seconds blocks the test worker). */
const compose = async (...args: string[]): Promise<string> =>
  (await promisify(execFile)('docker-compose', [...FILES, ...args], { cwd: repoPath(), timeout: 60_000 })).stdout;
let mergedOnce: Promise<Record<string, Service>> | undefined;
/** The stack as docker-compose merges the two files (run once: the tool takes seconds). */
function merged(): Promise<Record<string, Service>> {
  mergedOnce ??= compose('config').then((text) => (loadYaml(text) as { services: Record<string, Service> }).services);
  return mergedOnce;
}

const sentinelConf = readText('deploy/compose/sentinel.conf')
  .split('\n')
  .map((line) => line.replace(/#.*/, '').trim())
  .filter(Boolean);
const monitor = sentinelConf.find((l) => l.startsWith('sentinel monitor '))!.split(/\s+/);
const [, , groupName, primaryHost, primaryPort, quorum] = monitor as [string, string, string, string, string, string];
const sentinelPort = Number(sentinelConf.find((l) => l.startsWith('port '))?.split(/\s+/)[1]);

const commandOf = (s: Service) => [s.command ?? []].flat().join(' ');
const envOf = (s: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));

describe.skipIf(noCompose)('deploy/compose/sentinel.yml', () => {
  it('passes `docker-compose config -q` together with docker-compose.yml', async () => {
    await compose('config', '-q');
  });

  it('runs a primary, two replicas that follow it, and three sentinels with a majority quorum', async () => {
    const services = await merged();
    const dataNodes = Object.keys(services).filter((n) => /^redis-server\b/.test(commandOf(services[n]!)));
    const sentinels = Object.keys(services).filter((n) => /redis-sentinel/.test(commandOf(services[n]!)));
    expect(dataNodes.sort()).toEqual(['redis', 'redis-replica-1', 'redis-replica-2']);
    expect(sentinels.sort()).toEqual(['sentinel-1', 'sentinel-2', 'sentinel-3']);
    expect(primaryHost).toBe('redis');
    expect(commandOf(services['redis']!)).not.toContain('--replicaof');
    for (const name of dataNodes) {
      const command = commandOf(services[name]!);
      // Every node persists as the base stack's Redis does: it may become the primary.
      expect(command, name).toContain(commandOf(loadBaseRedis()).replace(/^redis-server /, ''));
      // Announced by service name: the sentinels (resolve-hostnames) hand clients names, not container IPs.
      expect(command, name).toContain(`--replica-announce-ip ${name}`);
      if (name !== 'redis') expect(command, name).toContain(`--replicaof ${primaryHost} ${primaryPort}`);
    }
    expect(Number(quorum)).toBe(Math.floor(sentinels.length / 2) + 1);
    expect(sentinelConf).toContain('sentinel resolve-hostnames yes');
    for (const name of sentinels) {
      expect(
        services[name]!.volumes?.some((v) => v.endsWith(':/etc/hydra/sentinel.conf:ro')),
        name,
      ).toBe(true);
    }
  });

  it('points every gateway and the publisher at those sentinels, in Sentinel mode only, and their config parses', async () => {
    const services = await merged();
    const sentinels = Object.keys(services)
      .filter((n) => /redis-sentinel/.test(commandOf(services[n]!)))
      .sort();
    const gateways = Object.keys(services).filter((n) => services[n]!.build?.target === 'gateway');
    expect(gateways).toHaveLength(3);
    for (const name of gateways) {
      const config = parseGatewayConfig(envOf(services[name]!));
      expect(config.port).toBe(CONTRACT.port);
      expect(config.redis, name).toEqual(
        expect.objectContaining({
          mode: 'sentinel',
          masterName: groupName,
          sentinels: sentinels.map((host) => ({ host, port: sentinelPort })),
        }),
      );
      expect(Object.keys(services[name]!.depends_on ?? {}), name).toContain('sentinel-1');
    }
    const publisher = parsePublisherConfig(envOf(services['publisher']!));
    expect(publisher.redis).toEqual(expect.objectContaining({ mode: 'sentinel', masterName: groupName }));
    // Acknowledged means replicated, and never more replicas than the stack runs (ingest would answer 503 forever).
    expect(publisher.minReplicas).toBeGreaterThanOrEqual(1);
    expect(publisher.minReplicas).toBeLessThanOrEqual(2);
  });
});

function loadBaseRedis(): Service {
  return (loadYaml(readText('docker-compose.yml')) as { services: Record<string, Service> }).services['redis']!;
}
