import { DEFAULT_RETENTION } from '@hydra/backplane';
import { describe, expect, it } from 'vitest';
import { ConfigError, parsePublisherConfig } from './config.js';

const parse = (env: Record<string, string>) => parsePublisherConfig(env);

function errorOf(env: Record<string, string>): ConfigError {
  try {
    parse(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parsePublisherConfig', () => {
  it('reads the demo feed switch and seed', () => {
    expect(parse({ HYDRA_DEMO_FEED: 'true', HYDRA_DEMO_SEED: '42' })).toMatchObject({ demoFeed: true, demoSeed: 42 });
    expect(parse({ HYDRA_DEMO_SEED: 'north-atlantic' }).demoSeed).toBe('north-atlantic');
    expect(() => parse({ HYDRA_DEMO_FEED: 'maybe' })).toThrow(/HYDRA_DEMO_FEED/);
  });

  it('reads the demo world’s size, within what the demo world accepts', () => {
    expect(parse({ HYDRA_DEMO_AIRCRAFT: '3000', HYDRA_DEMO_VESSELS: '0' })).toMatchObject({
      demoAircraft: 3000,
      demoVessels: 0,
    });
    expect(() => parse({ HYDRA_DEMO_AIRCRAFT: '10001' })).toThrow(/HYDRA_DEMO_AIRCRAFT/);
    expect(() => parse({ HYDRA_DEMO_VESSELS: '-1' })).toThrow(/HYDRA_DEMO_VESSELS/);
  });

  it('defaults to the in-memory backplane on 8090 with a 1 MiB body limit', () => {
    const config = parse({});
    expect(config).toEqual({
      redis: undefined,
      minReplicas: 0,
      replicaTimeoutMs: 1000,
      dedupeWindowMs: 600_000,
      port: 8090,
      ingestToken: undefined,
      maxBodyBytes: 1_048_576,
      maxItemBytes: 65_536,
      authFailureLimit: 10,
      authThrottleMs: 60_000,
      streamMaxLineBytes: 131_072,
      streamIdleTimeoutMs: 60_000,
      streamMaxInFlightLines: 2048,
      maxStreams: 64,
      logLevel: 'info',
      retention: DEFAULT_RETENTION,
      demoFeed: false,
      demoSeed: 1,
      demoAircraft: 300,
      demoVessels: 200,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable', () => {
    const config = parse({
      HYDRA_REDIS_URL: 'redis://redis:6379/1',
      HYDRA_PUBLISHER_PORT: '9000',
      HYDRA_INGEST_TOKEN: 's3cret-token',
      HYDRA_INGEST_MAX_BODY_BYTES: '2048',
      HYDRA_LOG_LEVEL: 'debug',
      HYDRA_RETENTION: 'aircraft:ttl=30000',
      HYDRA_AUTH_FAILURE_LIMIT: '0',
      HYDRA_AUTH_THROTTLE_MS: '5000',
    });
    expect(config.redis).toMatchObject({ mode: 'standalone', url: 'redis://redis:6379/1' });
    expect(config.port).toBe(9000);
    expect(config.ingestToken).toBe('s3cret-token');
    expect(config.maxBodyBytes).toBe(2048);
    expect(config.logLevel).toBe('debug');
    expect(config.retention.aircraft).toMatchObject({ kind: 'entity', ttlMs: 30_000 });
    expect(config.authFailureLimit).toBe(0);
    expect(config.authThrottleMs).toBe(5000);
  });

  it('refuses Redis without an ingest token, naming the variable', () => {
    const err = errorOf({ HYDRA_REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(err.variable).toBe('HYDRA_INGEST_TOKEN');
    expect(err.message).toMatch(/^HYDRA_INGEST_TOKEN is required when HYDRA_REDIS_URL is set/);
  });

  it('treats an empty token as absent', () => {
    expect(errorOf({ HYDRA_REDIS_URL: 'redis://x:6379', HYDRA_INGEST_TOKEN: '' }).variable).toBe('HYDRA_INGEST_TOKEN');
  });

  it.each([
    ['HYDRA_PUBLISHER_PORT', 'abc'],
    ['HYDRA_PUBLISHER_PORT', '70000'],
    ['HYDRA_PUBLISHER_PORT', '-1'],
    ['HYDRA_INGEST_MAX_BODY_BYTES', '0'],
    ['HYDRA_INGEST_MAX_BODY_BYTES', '1.5'],
    ['HYDRA_LOG_LEVEL', 'loud'],
    ['HYDRA_AUTH_FAILURE_LIMIT', '-1'],
    ['HYDRA_AUTH_THROTTLE_MS', '10'],
    ['HYDRA_REDIS_URL', 'not a url'],
    ['HYDRA_REDIS_URL', 'http://127.0.0.1:6379'],
    ['HYDRA_RETENTION', 'aircraft:max=3'],
    ['HYDRA_INGEST_TOKEN', 'two words'],
  ])('fails fast on %s=%j naming the variable', (name, value) => {
    const err = errorOf({ [name]: value });
    expect(err.variable).toBe(name);
    expect(err.message.startsWith(`${name} `)).toBe(true);
  });

  it('never echoes a Redis URL, which may carry a password', () => {
    const err = errorOf({ HYDRA_REDIS_URL: 'http://user:hunter2@host:6379' });
    expect(err.message).not.toContain('hunter2');
  });

  it('accepts port 0 (a free port, logged at start)', () => {
    expect(parse({ HYDRA_PUBLISHER_PORT: '0' }).port).toBe(0);
  });

  it('keeps the item limit within the body limit, naming the variable', () => {
    expect(parse({ HYDRA_INGEST_MAX_BODY_BYTES: '4096' }).maxItemBytes).toBe(4096);
    expect(parse({ HYDRA_INGEST_MAX_ITEM_BYTES: '1000' }).maxItemBytes).toBe(1000);
    expect(() => parse({ HYDRA_INGEST_MAX_BODY_BYTES: '4096', HYDRA_INGEST_MAX_ITEM_BYTES: '8192' })).toThrow(
      /HYDRA_INGEST_MAX_ITEM_BYTES must be between 256 and 4096/,
    );
  });

  it('reads the stream limits, the line limit within the body limit, naming the variable', () => {
    expect(
      parse({
        HYDRA_INGEST_STREAM_MAX_LINE_BYTES: '4096',
        HYDRA_INGEST_STREAM_IDLE_TIMEOUT_MS: '5000',
        HYDRA_INGEST_STREAM_MAX_IN_FLIGHT: '64',
      }),
    ).toMatchObject({ streamMaxLineBytes: 4096, streamIdleTimeoutMs: 5000, streamMaxInFlightLines: 64 });
    expect(parse({ HYDRA_INGEST_MAX_BODY_BYTES: '100000' }).streamMaxLineBytes).toBe(100_000);
    expect(() => parse({ HYDRA_INGEST_STREAM_MAX_LINE_BYTES: '2000000' })).toThrow(
      /^HYDRA_INGEST_STREAM_MAX_LINE_BYTES must be between 256 and 1048576/,
    );
    expect(() => parse({ HYDRA_INGEST_STREAM_IDLE_TIMEOUT_MS: '10' })).toThrow(/^HYDRA_INGEST_STREAM_IDLE_TIMEOUT_MS/);
    expect(() => parse({ HYDRA_INGEST_STREAM_MAX_IN_FLIGHT: '1' })).toThrow(/^HYDRA_INGEST_STREAM_MAX_IN_FLIGHT/);
    expect(parse({}).maxStreams).toBe(64);
    expect(parse({ HYDRA_INGEST_MAX_STREAMS: '8' }).maxStreams).toBe(8);
    expect(() => parse({ HYDRA_INGEST_MAX_STREAMS: '0' })).toThrow(/^HYDRA_INGEST_MAX_STREAMS/);
  });

  it('reads HYDRA_INGEST_DEDUPE_WINDOW as a duration (bare number = ms, 0 = off) and refuses others, naming the variable', () => {
    const window = (value: string) => parsePublisherConfig({ HYDRA_INGEST_DEDUPE_WINDOW: value }).dedupeWindowMs;
    expect(window('5m')).toBe(300_000);
    expect(window('90s')).toBe(90_000);
    expect(window('1500')).toBe(1_500);
    expect(window('250ms')).toBe(250);
    expect(window('2h')).toBe(7_200_000);
    expect(window('0')).toBe(0);
    for (const bad of ['-1', '5 minutes', '1.5m', '25h']) {
      expect(() => window(bad)).toThrow(/^HYDRA_INGEST_DEDUPE_WINDOW/);
    }
  });
});
