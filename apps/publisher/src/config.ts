import { DEFAULT_RETENTION, parseRetention, type RetentionPolicy } from '@hydra/backplane';

/**
 * Publisher configuration: one schema over the `HYDRA_*` variables, parsed
 * once at start, frozen. Every failure is a ConfigError whose message starts
 * with the variable's name, so the operator knows what to fix.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable} ${message}`);
  }
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface PublisherConfig {
  /** Redis backplane URL; absent means the in-memory backplane (one process only). */
  readonly redisUrl: string | undefined;
  /** TCP port of the ingest API (0 picks a free port; the bound port is logged). */
  readonly port: number;
  /**
   * Bearer token of `POST /v1/events`. Required with Redis. Absent only on the
   * in-memory backplane: ingest is then unauthenticated and bound to loopback.
   */
  readonly ingestToken: string | undefined;
  /** Largest accepted request body; a larger one is answered 413 as soon as the limit is passed. */
  readonly maxBodyBytes: number;
  readonly logLevel: LogLevel;
  readonly retention: RetentionPolicy;
  /** Run the built-in demo feed (`HYDRA_DEMO_FEED`, default false; the embedded mode defaults it on). */
  readonly demoFeed: boolean;
  /** Seed of the demo feed (`HYDRA_DEMO_SEED`): the same seed replays the same world. */
  readonly demoSeed: number | string;
}

type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_PUBLISHER_PORT = 8090;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A variable's value: undefined when unset or blank. */
function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = text(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value.slice(0, 40)}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = text(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `must be true or false, got "${value.slice(0, 40)}"`);
}

function seed(env: Env, name: string): number | string {
  const value = text(env, name);
  if (value === undefined) return 1;
  return /^\d{1,15}$/.test(value) ? Number(value) : value;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const value = text(env, name);
  if (value === undefined) return fallback;
  if (!(values as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${value.slice(0, 40)}"`);
  }
  return value as T;
}

/** Validates a `redis://` or `rediss://` URL. The value is never echoed: it may carry a password. */
export function redisUrl(env: Env, name: string): string | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a valid URL (expected redis://host:port)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(name, `must use redis:// or rediss://, got ${url.protocol}//`);
  }
  return value;
}

export function parsePublisherConfig(env: Env = process.env): PublisherConfig {
  const redis = redisUrl(env, 'HYDRA_REDIS_URL');
  // The token is kept verbatim (not trimmed): it is compared byte for byte.
  const rawToken = env['HYDRA_INGEST_TOKEN'];
  const ingestToken = rawToken === undefined || rawToken === '' ? undefined : rawToken;
  if (ingestToken !== undefined && /\s/.test(ingestToken)) {
    throw new ConfigError('HYDRA_INGEST_TOKEN', 'must not contain whitespace');
  }
  if (redis !== undefined && ingestToken === undefined) {
    throw new ConfigError(
      'HYDRA_INGEST_TOKEN',
      'is required when HYDRA_REDIS_URL is set: POST /v1/events must not be open on a shared backplane',
    );
  }
  let retention: RetentionPolicy = DEFAULT_RETENTION;
  try {
    retention = parseRetention(text(env, 'HYDRA_RETENTION'));
  } catch (err) {
    // parseRetention's messages already start with the variable's name.
    throw new ConfigError('HYDRA_RETENTION', (err as Error).message.replace(/^HYDRA_RETENTION:?\s*/, ''));
  }
  return Object.freeze({
    redisUrl: redis,
    port: integer(env, 'HYDRA_PUBLISHER_PORT', DEFAULT_PUBLISHER_PORT, 0, 65535),
    ingestToken,
    maxBodyBytes: integer(env, 'HYDRA_INGEST_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1, 1024 * 1024 * 1024),
    logLevel: oneOf(env, 'HYDRA_LOG_LEVEL', LOG_LEVELS, 'info'),
    retention,
    demoFeed: bool(env, 'HYDRA_DEMO_FEED', false),
    demoSeed: seed(env, 'HYDRA_DEMO_SEED'),
  });
}
