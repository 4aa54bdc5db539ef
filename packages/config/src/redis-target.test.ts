import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './env.js';
import { describeRedisTarget, type RedisTarget, readRedisTarget } from './redis-target.js';

const dir = mkdtempSync(join(tmpdir(), 'hydra-redis-target-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function errorOf(env: Record<string, string>): ConfigError {
  try {
    readRedisTarget(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('readRedisTarget', () => {
  it('is undefined when no mode variable is set (the embedded in-memory mode)', () => {
    expect(readRedisTarget({})).toBeUndefined();
    expect(readRedisTarget({ HYDRA_REDIS_URL: '  ' })).toBeUndefined();
  });

  it('reads one Redis from a URL, TLS from rediss://', () => {
    expect(readRedisTarget({ HYDRA_REDIS_URL: 'redis://r:6379/1' })).toEqual({
      mode: 'standalone',
      url: 'redis://r:6379/1',
      auth: {},
      tls: undefined,
    });
    expect(readRedisTarget({ HYDRA_REDIS_URL: 'rediss://r:6380' })?.tls).toEqual({});
    expect(errorOf({ HYDRA_REDIS_URL: 'http://r:6379' }).variable).toBe('HYDRA_REDIS_URL');
  });

  it('reads sentinels with their master name, credentials for each side and default ports', () => {
    const target = readRedisTarget({
      HYDRA_REDIS_SENTINELS: 's1:26380, s2 ,[::1]:26381',
      HYDRA_REDIS_SENTINEL_NAME: 'hydra',
      HYDRA_REDIS_USERNAME: 'app',
      HYDRA_REDIS_PASSWORD: 'data-secret',
      HYDRA_REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
    });
    expect(target).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'hydra',
      auth: { username: 'app', password: 'data-secret' },
      sentinelAuth: { password: 'sentinel-secret' },
      tls: undefined,
    });
  });

  it('reads cluster seed nodes and TLS files', () => {
    const ca = file('ca.pem', 'CA PEM');
    const target = readRedisTarget({
      HYDRA_REDIS_CLUSTER_NODES: 'n1:7000,n2:7001',
      HYDRA_REDIS_TLS: 'true',
      HYDRA_REDIS_TLS_CA_FILE: ca,
    });
    expect(target).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      auth: {},
      tls: { ca: 'CA PEM' },
    });
  });

  it('reads secrets from files (one trailing newline dropped), never both a value and a file', () => {
    const password = file('password', 's3cret\n');
    const url = file('url', 'redis://:from-file@r:6379\n');
    expect(readRedisTarget({ HYDRA_REDIS_CLUSTER_NODES: 'n:1', HYDRA_REDIS_PASSWORD_FILE: password })?.auth).toEqual({
      password: 's3cret',
    });
    expect(readRedisTarget({ HYDRA_REDIS_URL_FILE: url })).toMatchObject({ url: 'redis://:from-file@r:6379' });
    const both = errorOf({
      HYDRA_REDIS_CLUSTER_NODES: 'n:1',
      HYDRA_REDIS_PASSWORD: 'x',
      HYDRA_REDIS_PASSWORD_FILE: password,
    });
    expect(both.message).toBe('HYDRA_REDIS_PASSWORD and HYDRA_REDIS_PASSWORD_FILE are both set: use one');
    expect(errorOf({ HYDRA_REDIS_URL_FILE: join(dir, 'missing') }).variable).toBe('HYDRA_REDIS_URL_FILE');
  });

  it('stops on more than one mode, naming every variable set', () => {
    const err = errorOf({ HYDRA_REDIS_URL: 'redis://r:6379', HYDRA_REDIS_CLUSTER_NODES: 'n:7000' });
    expect(err.message).toMatch(/^HYDRA_REDIS_URL and HYDRA_REDIS_CLUSTER_NODES are both set: name the backplane/);
    expect(err.message).toContain('HYDRA_REDIS_SENTINELS');
    expect(
      errorOf({ HYDRA_REDIS_SENTINELS: 's:1', HYDRA_REDIS_SENTINEL_NAME: 'm', HYDRA_REDIS_URL: 'redis://r' }).message,
    ).toMatch(/^HYDRA_REDIS_URL and HYDRA_REDIS_SENTINELS are both set/);
  });

  it.each([
    [{ HYDRA_REDIS_SENTINELS: 's:26379' }, 'HYDRA_REDIS_SENTINEL_NAME'],
    [{ HYDRA_REDIS_SENTINEL_NAME: 'm' }, 'HYDRA_REDIS_SENTINEL_NAME'],
    [{ HYDRA_REDIS_URL: 'redis://r', HYDRA_REDIS_SENTINEL_PASSWORD: 'x' }, 'HYDRA_REDIS_SENTINEL_PASSWORD'],
    [{ HYDRA_REDIS_PASSWORD: 'x' }, 'HYDRA_REDIS_PASSWORD'],
    [{ HYDRA_REDIS_CLUSTER_NODES: 'n:70000' }, 'HYDRA_REDIS_CLUSTER_NODES'],
    [{ HYDRA_REDIS_CLUSTER_NODES: ' , ' }, 'HYDRA_REDIS_CLUSTER_NODES'],
    [{ HYDRA_REDIS_URL: 'redis://r', HYDRA_REDIS_TLS_CA_FILE: '/x' }, 'HYDRA_REDIS_TLS_CA_FILE'],
    [{ HYDRA_REDIS_URL: 'redis://u:p@r', HYDRA_REDIS_PASSWORD: 'q' }, 'HYDRA_REDIS_URL'],
    [{ HYDRA_REDIS_URL: 'rediss://r', HYDRA_REDIS_TLS_KEY_FILE: __filename }, 'HYDRA_REDIS_TLS_CERT_FILE'],
  ] as Array<[Record<string, string>, string]>)('refuses %j naming %s', (env, variable) => {
    expect(errorOf(env).variable).toBe(variable);
  });

  it('never puts a secret in an error or a description', () => {
    const secret = 'pa55-DO-NOT-SHOW';
    const messages = [
      errorOf({ HYDRA_REDIS_URL: `http://u:${secret}@r:6379` }).message,
      errorOf({ HYDRA_REDIS_URL: `redis://u:${secret}@r`, HYDRA_REDIS_PASSWORD: secret }).message,
      errorOf({ HYDRA_REDIS_PASSWORD: secret }).message,
      errorOf({ HYDRA_REDIS_SENTINELS: 's', HYDRA_REDIS_SENTINEL_PASSWORD: secret }).message,
    ];
    const targets: RedisTarget[] = [
      readRedisTarget({ HYDRA_REDIS_URL: `redis://u:${secret}@r:6379` })!,
      readRedisTarget({ HYDRA_REDIS_SENTINELS: 's', HYDRA_REDIS_SENTINEL_NAME: 'm', HYDRA_REDIS_PASSWORD: secret })!,
      readRedisTarget({ HYDRA_REDIS_CLUSTER_NODES: 'n', HYDRA_REDIS_PASSWORD: secret, HYDRA_REDIS_TLS: '1' })!,
    ];
    for (const text of [...messages, ...targets.map(describeRedisTarget)]) expect(text).not.toContain(secret);
    expect(targets.map(describeRedisTarget)).toEqual([
      'redis://u:***@r:6379',
      'sentinel master "m" via s:26379',
      'cluster via n:6379 (TLS)',
    ]);
  });
});
