import { DEFAULT_DEDUPE_WINDOW_MS, MAX_DEDUPE_WINDOW_MS, parseRetention, type RetentionPolicy } from '@hydra/backplane';
import {
  ConfigError,
  type Env,
  LOG_LEVELS,
  type LogLevel,
  REDIS_MODE_VARIABLE,
  type RedisTarget,
  readBool,
  readEnum,
  readInt,
  readRedisTarget,
  readString,
  readWith,
} from '@hydra/config';
import { DEFAULT_DEMO_AIRCRAFT, DEFAULT_DEMO_VESSELS } from '@hydra/demo-feed';

export { ConfigError, LOG_LEVELS, type LogLevel };

/**
 * Publisher configuration: one schema over the `HYDRA_*` variables (read
 * with the same readers as the gateway's, @hydra/config), parsed once at
 * start, frozen. Every failure is a ConfigError whose message starts with the
 * variable's name, so the operator knows what to fix.
 */
export interface PublisherConfig {
  /** Redis backplane URL; absent means the in-memory backplane (one process only). */
  /** The backplane's Redis (readRedisTarget); absent = in-memory. */
  readonly redis: RedisTarget | undefined;
  /**
   * `HYDRA_INGEST_MIN_REPLICAS` (default 0): 200 only once this many replicas
   * hold the batch (`WAIT`), else 503 (the batch may be stored: a retry of
   * an entity upsert is safe). With 1 or more an acknowledged event survives
   * the loss of the primary.
   */
  readonly minReplicas: number;
  /** `HYDRA_INGEST_REPLICA_TIMEOUT_MS` (default 1000): how long ingest waits for those replicas. */
  readonly replicaTimeoutMs: number;
  /**
   * `HYDRA_INGEST_DEDUPE_WINDOW` (default `10m`; `<n>ms|s|m|h`, a bare number
   * is ms, `0` turns it off, at most `24h`): how long a log scope remembers an
   * item's idempotency key (its `data.id`, else the request's
   * `Idempotency-Key` header and the item's index). A retry within it is
   * answered with the original seq and not stored or published again.
   */
  readonly dedupeWindowMs: number;
  /** TCP port of the ingest API (0 picks a free port; the bound port is logged). */
  readonly port: number;
  /**
   * Bearer token of `POST /v1/events`. Required with Redis. Absent only on the
   * in-memory backplane: ingest is then unauthenticated and bound to loopback.
   */
  readonly ingestToken: string | undefined;
  /** Largest accepted request body; a larger one is answered 413 as soon as the limit is passed. */
  readonly maxBodyBytes: number;
  /**
   * Largest `data` of one item, as JSON bytes; a larger item is refused (400,
   * with its reason) while the rest of its batch is published. Bounds what
   * one event costs every client's send buffer and every snapshot part.
   */
  readonly maxItemBytes: number;
  /**
   * Failed bearer tokens from one source (IPv4 address, IPv6 /64) within
   * `authThrottleMs` before that source's cool-down (`HYDRA_AUTH_FAILURE_LIMIT`,
   * the gateway's variable and policy); 0 turns the throttle off.
   */
  readonly authFailureLimit: number;
  /** The counting window, and the cool-down in which every POST /v1/events from the source gets 429 (`HYDRA_AUTH_THROTTLE_MS`). */
  readonly authThrottleMs: number;
  /**
   * Longest line of `POST /v1/events/stream`, in bytes
   * (`HYDRA_INGEST_STREAM_MAX_LINE_BYTES`, default twice the item limit, at
   * most the body limit): a longer line is refused with its own
   * acknowledgement and dropped as it arrives, never buffered whole.
   */
  readonly streamMaxLineBytes: number;
  /** A stream that sends nothing for this long is ended (`HYDRA_INGEST_STREAM_IDLE_TIMEOUT_MS`, default 60 s). */
  readonly streamIdleTimeoutMs: number;
  /**
   * Lines one stream may have read and not yet acknowledged
   * (`HYDRA_INGEST_STREAM_MAX_IN_FLIGHT`, default 2048; also at most
   * HYDRA_INGEST_MAX_BODY_BYTES of line text): at the bound the stream stops
   * reading its request until Redis has stored a group.
   */
  readonly streamMaxInFlightLines: number;
  /**
   * Streams open at once (`HYDRA_INGEST_MAX_STREAMS`, default 64): one more
   * is answered 503 with `Retry-After: 1` before its body is read. With the
   * per-stream bound above, the publisher holds at most this many times
   * HYDRA_INGEST_MAX_BODY_BYTES of unacknowledged line text.
   */
  readonly maxStreams: number;
  readonly logLevel: LogLevel;
  readonly retention: RetentionPolicy;
  /** Run the built-in demo feed (`HYDRA_DEMO_FEED`, default false; the embedded mode defaults it on). */
  readonly demoFeed: boolean;
  /** Seed of the demo feed (`HYDRA_DEMO_SEED`): the same seed replays the same world. */
  readonly demoSeed: number | string;
  /** Aircraft and vessels in the demo world at any time (`HYDRA_DEMO_AIRCRAFT`, 300; `HYDRA_DEMO_VESSELS`, 200). */
  readonly demoAircraft: number;
  readonly demoVessels: number;
}

export const DEFAULT_PUBLISHER_PORT = 8090;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_ITEM_BYTES = 64 * 1024;
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_STREAM_MAX_IN_FLIGHT_LINES = 2048;
export const DEFAULT_MAX_STREAMS = 64;
/** The gateway's defaults for the same variables. */
export const DEFAULT_AUTH_FAILURE_LIMIT = 10;
export const DEFAULT_AUTH_THROTTLE_MS = 60_000;

function seed(env: Env, name: string): number | string {
  const value = readString(env, name);
  if (value === undefined) return 1;
  return /^\d{1,15}$/.test(value) ? Number(value) : value;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `<n>[ms|s|m|h]` (a bare number is ms) as ms, from 0 to `maxMs`; throws an Error saying what is accepted. */
export function parseDurationMs(text: string, maxMs: number): number {
  const m = /^\s*(\d{1,9})\s*(ms|s|m|h)?\s*$/.exec(text);
  const ms = m === null ? Number.NaN : Number(m[1]) * DURATION_UNITS_MS[m[2] ?? 'ms']!;
  if (!Number.isSafeInteger(ms) || ms > maxMs) {
    throw new Error(`must be a duration such as 10m, 90s or 5000ms, from 0 to ${maxMs / 3_600_000}h; got "${text}"`);
  }
  return ms;
}

export function parsePublisherConfig(env: Env = process.env): PublisherConfig {
  const redis = readRedisTarget(env);
  // The token is kept verbatim (not trimmed): it is compared byte for byte.
  const rawToken = env['HYDRA_INGEST_TOKEN'];
  const ingestToken = rawToken === undefined || rawToken === '' ? undefined : rawToken;
  if (ingestToken !== undefined && /\s/.test(ingestToken)) {
    throw new ConfigError('HYDRA_INGEST_TOKEN', 'must not contain whitespace');
  }
  if (redis !== undefined && ingestToken === undefined) {
    throw new ConfigError(
      'HYDRA_INGEST_TOKEN',
      `is required when ${REDIS_MODE_VARIABLE[redis.mode]} is set: POST /v1/events must not be open on a shared backplane`,
    );
  }
  const maxBodyBytes = readInt(env, 'HYDRA_INGEST_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, {
    min: 1,
    max: 1024 * 1024 * 1024,
  });
  // An item larger than the body could never arrive: the item limit is at most the body limit.
  const maxItemBytes = readInt(env, 'HYDRA_INGEST_MAX_ITEM_BYTES', Math.min(DEFAULT_MAX_ITEM_BYTES, maxBodyBytes), {
    min: Math.min(256, maxBodyBytes),
    max: maxBodyBytes,
  });
  const streamMaxLineBytes = readInt(
    env,
    'HYDRA_INGEST_STREAM_MAX_LINE_BYTES',
    Math.min(2 * maxItemBytes, maxBodyBytes),
    { min: Math.min(256, maxBodyBytes), max: maxBodyBytes },
  );
  return Object.freeze({
    redis,
    minReplicas: readInt(env, 'HYDRA_INGEST_MIN_REPLICAS', 0, { min: 0, max: 16 }),
    replicaTimeoutMs: readInt(env, 'HYDRA_INGEST_REPLICA_TIMEOUT_MS', 1000, { min: 10, max: 60_000 }),
    dedupeWindowMs: readWith(env, 'HYDRA_INGEST_DEDUPE_WINDOW', (text) =>
      text === undefined || text.trim() === '' ? DEFAULT_DEDUPE_WINDOW_MS : parseDurationMs(text, MAX_DEDUPE_WINDOW_MS),
    ),
    port: readInt(env, 'HYDRA_PUBLISHER_PORT', DEFAULT_PUBLISHER_PORT, { min: 0, max: 65535 }),
    ingestToken,
    maxBodyBytes,
    maxItemBytes,
    authFailureLimit: readInt(env, 'HYDRA_AUTH_FAILURE_LIMIT', DEFAULT_AUTH_FAILURE_LIMIT, { min: 0, max: 1_000_000 }),
    authThrottleMs: readInt(env, 'HYDRA_AUTH_THROTTLE_MS', DEFAULT_AUTH_THROTTLE_MS, { min: 100, max: 86_400_000 }),
    streamMaxLineBytes,
    streamIdleTimeoutMs: readInt(env, 'HYDRA_INGEST_STREAM_IDLE_TIMEOUT_MS', DEFAULT_STREAM_IDLE_TIMEOUT_MS, {
      min: 1000,
      max: 3_600_000,
    }),
    streamMaxInFlightLines: readInt(env, 'HYDRA_INGEST_STREAM_MAX_IN_FLIGHT', DEFAULT_STREAM_MAX_IN_FLIGHT_LINES, {
      min: 2,
      max: 1_000_000,
    }),
    maxStreams: readInt(env, 'HYDRA_INGEST_MAX_STREAMS', DEFAULT_MAX_STREAMS, { min: 1, max: 100_000 }),
    logLevel: readEnum(env, 'HYDRA_LOG_LEVEL', LOG_LEVELS, 'info'),
    retention: readWith(env, 'HYDRA_RETENTION', (text) => parseRetention(text)),
    demoFeed: readBool(env, 'HYDRA_DEMO_FEED', false),
    demoSeed: seed(env, 'HYDRA_DEMO_SEED'),
    demoAircraft: readInt(env, 'HYDRA_DEMO_AIRCRAFT', DEFAULT_DEMO_AIRCRAFT, { min: 0, max: 10_000 }),
    demoVessels: readInt(env, 'HYDRA_DEMO_VESSELS', DEFAULT_DEMO_VESSELS, { min: 0, max: 10_000 }),
  });
}
