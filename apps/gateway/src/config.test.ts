import { ConfigError } from '@hydra/config';
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from './config.js';

describe('gateway config: send buffer and snapshot parts', () => {
  it('defaults the snapshot part to 256 KiB, or a quarter of a smaller send-buffer limit', () => {
    expect(parseGatewayConfig({}).snapshotChunkBytes).toBe(256 * 1024);
    expect(parseGatewayConfig({ HYDRA_MAX_BUFFERED_BYTES: String(128 * 1024) }).snapshotChunkBytes).toBe(32 * 1024);
  });

  it('refuses a snapshot part larger than half the send-buffer limit, naming the variable', () => {
    const parse = () =>
      parseGatewayConfig({ HYDRA_MAX_BUFFERED_BYTES: String(128 * 1024), HYDRA_SNAPSHOT_CHUNK_BYTES: '100000' });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/HYDRA_SNAPSHOT_CHUNK_BYTES.*half of HYDRA_MAX_BUFFERED_BYTES/);
  });
});

describe('gateway config: pings', () => {
  it('pings every 15 s by default (the contract), and takes HYDRA_PING_INTERVAL_MS', () => {
    expect(parseGatewayConfig({}).pingIntervalMs).toBe(15_000);
    expect(parseGatewayConfig({ HYDRA_PING_INTERVAL_MS: '500' }).pingIntervalMs).toBe(500);
  });
});

describe('gateway config: web console', () => {
  it('is off unless HYDRA_CONSOLE=true (the stream port then serves it at /)', () => {
    expect(parseGatewayConfig({}).console).toBe(false);
    expect(parseGatewayConfig({ HYDRA_CONSOLE: 'true' }).console).toBe(true);
    expect(() => parseGatewayConfig({ HYDRA_CONSOLE: 'yes please' })).toThrow(/HYDRA_CONSOLE/);
  });
});

describe('gateway config: expiry sweep', () => {
  it('sweeps by default, and not with HYDRA_EXPIRY_SWEEP=false', () => {
    expect(parseGatewayConfig({}).expirySweep).toBe(true);
    expect(parseGatewayConfig({ HYDRA_EXPIRY_SWEEP: 'true' }).expirySweep).toBe(true);
    expect(parseGatewayConfig({ HYDRA_EXPIRY_SWEEP: 'false' }).expirySweep).toBe(false);
    expect(parseGatewayConfig({ HYDRA_EXPIRY_SWEEP: '0' }).expirySweep).toBe(false);
  });

  it('refuses a value that is not a boolean, naming the variable', () => {
    const parse = () => parseGatewayConfig({ HYDRA_EXPIRY_SWEEP: 'sometimes' });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/HYDRA_EXPIRY_SWEEP/);
  });
});

describe('gateway config: compression', () => {
  it('negotiates no compression by default, and takes shared', () => {
    expect(parseGatewayConfig({}).compression).toBe('off');
    expect(parseGatewayConfig({ HYDRA_COMPRESSION: 'off' }).compression).toBe('off');
    expect(parseGatewayConfig({ HYDRA_COMPRESSION: 'shared' }).compression).toBe('shared');
  });

  it('refuses any other value, naming the variable', () => {
    for (const value of ['gzip', 'dedicated', 'on']) {
      const parse = () => parseGatewayConfig({ HYDRA_COMPRESSION: value });
      expect(parse).toThrow(ConfigError);
      expect(parse).toThrow(/HYDRA_COMPRESSION must be one of off, shared/);
    }
  });
});
