import { accessSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import { parseRetention, type RetentionPolicy } from '@hydra/backplane';
import {
  ConfigError,
  LOG_LEVELS,
  type LogLevel,
  type RedisTarget,
  readBool,
  readEnum,
  readInt,
  readRedisTarget,
  readString,
  readWith,
} from '@hydra/config';
import { type CidrBlock, parseCidrList } from './cidr.js';
import { COMPRESSION_MODES, type CompressionMode } from './compression.js';

export type { LogLevel };

/** Gateway configuration: parsed once at start from `HYDRA_*` variables, then frozen. */
export interface GatewayConfig {
  /** The backplane's Redis (readRedisTarget); absent only in the embedded single-process mode (in-memory backplane). */
  readonly redis: RedisTarget | undefined;
  readonly host: string;
  readonly port: number;
  readonly adminPort: number;
  readonly pingIntervalMs: number;
  readonly maxConnectionsPerIp: number;
  readonly trustedProxies: readonly CidrBlock[];
  readonly logLevel: LogLevel;
  /** SIGTERM: clients are closed with 1001 spread over this window. */
  readonly drainMs: number;
  /** Slots of a gateway that died are freed within this bound. */
  readonly limiterLeaseMs: number;
  /** Hard per-client send buffer cap (uWS drops a client past it, 1006); stalled clients are closed 4000 well before. */
  readonly maxBufferedBytes: number;
  /** Live events reach clients at most once per this interval, in one write per client (WriteCoalescer); 0 = at once. */
  readonly writeCoalesceMs: number;
  /** permessage-deflate for the clients that offer it (compression.ts); `off` never negotiates it. */
  readonly compression: CompressionMode;
  /** Upper bound of one `snapshot` message; larger scopes are sent in parts. */
  readonly snapshotChunkBytes: number;
  readonly keyCacheTtlMs: number;
  readonly keyCacheNegativeTtlMs: number;
  /** Failed authentications from one source (IPv4 address, IPv6 /64) that start a cool-down; 0 = no throttle. */
  readonly authFailureLimit: number;
  /** The throttle's counting window, and the cool-down (every upgrade from the source gets 429) after the limit. */
  readonly authThrottleMs: number;
  readonly allowUwsFallback: boolean;
  /**
   * Run an entity expiry sweeper (`HYDRA_EXPIRY_SWEEP`, default true): the one
   * place a gateway writes to the backplane (removal events and state, through
   * expire.lua, exactly once whatever the number of sweepers). Off, expiry is
   * announced only while some publisher (or other gateway) sweeps.
   */
  readonly expirySweep: boolean;
  /**
   * Serve the web console at `/` on the stream port (`HYDRA_CONSOLE`, default
   * false; the embedded mode defaults it on). The page holds no secret: see
   * docs/operations.md, "The web console".
   */
  readonly console: boolean;
  readonly tls: { certFile: string; keyFile: string } | undefined;
  readonly retention: RetentionPolicy;
  readonly nodeId: string;
}

export function parseGatewayConfig(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  const certFile = readString(env, 'HYDRA_TLS_CERT_FILE');
  const keyFile = readString(env, 'HYDRA_TLS_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError('HYDRA_TLS_CERT_FILE', 'and HYDRA_TLS_KEY_FILE must be set together');
  }
  // uWS only says "App construction failed" for a missing file: name the variable instead.
  for (const [name, file] of [
    ['HYDRA_TLS_CERT_FILE', certFile],
    ['HYDRA_TLS_KEY_FILE', keyFile],
  ] as const) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new ConfigError(name, `cannot be read: ${file}`);
    }
  }
  const port = { min: 0, max: 65535 };
  const maxBufferedBytes = readInt(env, 'HYDRA_MAX_BUFFERED_BYTES', 1024 * 1024, { min: 64 * 1024, max: 1 << 30 });
  // Snapshots go out paced, up to half the limit in flight per client (paced-sender.ts): a part must fit in that.
  const snapshotChunkBytes = readInt(
    env,
    'HYDRA_SNAPSHOT_CHUNK_BYTES',
    Math.min(256 * 1024, Math.floor(maxBufferedBytes / 4)),
    {
      min: 4096,
      max: 64 * 1024 * 1024,
    },
  );
  if (snapshotChunkBytes > maxBufferedBytes / 2) {
    throw new ConfigError(
      'HYDRA_SNAPSHOT_CHUNK_BYTES',
      `must be at most half of HYDRA_MAX_BUFFERED_BYTES (${maxBufferedBytes / 2} bytes here)`,
    );
  }
  return Object.freeze({
    redis: readRedisTarget(env),
    host: readString(env, 'HYDRA_HOST') ?? '0.0.0.0',
    port: readInt(env, 'HYDRA_PORT', 8080, port),
    adminPort: readInt(env, 'HYDRA_ADMIN_PORT', 9091, port),
    pingIntervalMs: readInt(env, 'HYDRA_PING_INTERVAL_MS', 15_000, { min: 100, max: 600_000 }),
    maxConnectionsPerIp: readInt(env, 'HYDRA_MAX_CONNECTIONS_PER_IP', 10, { min: 1, max: 1_000_000 }),
    trustedProxies: Object.freeze(readWith(env, 'HYDRA_TRUSTED_PROXIES', (t) => parseCidrList(t ?? ''))),
    logLevel: readEnum(env, 'HYDRA_LOG_LEVEL', LOG_LEVELS, 'info'),
    drainMs: readInt(env, 'HYDRA_DRAIN_MS', 10_000, { min: 0, max: 600_000 }),
    limiterLeaseMs: readInt(env, 'HYDRA_LIMITER_LEASE_MS', 30_000, { min: 300, max: 3_600_000 }),
    maxBufferedBytes,
    writeCoalesceMs: readInt(env, 'HYDRA_WRITE_COALESCE_MS', 0, { min: 0, max: 1000 }),
    compression: readEnum(env, 'HYDRA_COMPRESSION', COMPRESSION_MODES, 'off'),
    snapshotChunkBytes,
    keyCacheTtlMs: readInt(env, 'HYDRA_KEY_CACHE_TTL_MS', 10_000, { min: 0, max: 3_600_000 }),
    keyCacheNegativeTtlMs: readInt(env, 'HYDRA_KEY_CACHE_NEGATIVE_TTL_MS', 2_000, { min: 0, max: 3_600_000 }),
    authFailureLimit: readInt(env, 'HYDRA_AUTH_FAILURE_LIMIT', 10, { min: 0, max: 1_000_000 }),
    authThrottleMs: readInt(env, 'HYDRA_AUTH_THROTTLE_MS', 60_000, { min: 100, max: 86_400_000 }),
    allowUwsFallback: readBool(env, 'HYDRA_ALLOW_UWS_FALLBACK', false),
    expirySweep: readBool(env, 'HYDRA_EXPIRY_SWEEP', true),
    console: readBool(env, 'HYDRA_CONSOLE', false),
    tls: certFile !== undefined && keyFile !== undefined ? Object.freeze({ certFile, keyFile }) : undefined,
    retention: readWith(env, 'HYDRA_RETENTION', (t) => parseRetention(t)),
    nodeId:
      readString(env, 'HYDRA_NODE_ID') ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
  });
}
