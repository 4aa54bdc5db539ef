import { type Backplane, createBackplane, DEFAULT_RETENTION, openRedisClient } from '@hydra/backplane';
import { describeRedisTarget, type RedisTarget, safeRedisUrl } from '@hydra/config';
import { CliError } from './errors.js';
import { ExitCode } from './exit-code.js';

export interface OpenOptions {
  /** Where the key store is (readRedisTarget: one Redis, Sentinel or Cluster). */
  target: RedisTarget;
  /** Bound on connecting and on each command: the CLI never hangs on a dead Redis. */
  timeoutMs: number;
}

/**
 * Opens the Redis backplane for one CLI command. The key store lives in
 * Redis; the in-memory backplane lives inside one process, so a separate
 * CLI process cannot reach its keys (the embedded mode prints its own demo key).
 *
 * A short-lived probe connection (no retries, connect timeout) runs first, so
 * an unreachable Redis is reported within `timeoutMs` (ExitCode.Unavailable), a
 * refused login as ExitCode.Unauthorized.
 */
export async function openBackplane(options: OpenOptions): Promise<Backplane> {
  const probe = openRedisClient(options.target, {
    lazyConnect: true,
    connectTimeout: options.timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  // connect() rejects with a generic "Connection is closed"; the error event has the cause (ECONNREFUSED…).
  let cause: unknown;
  probe.on('error', (err) => {
    cause ??= err;
  });
  try {
    await withTimeout(
      probe.connect().then(() => probe.ping()),
      options.timeoutMs,
    );
  } catch (err) {
    const failure = cause ?? err;
    if (refusedLogin(failure)) throw loginRefused(options.target, failure);
    throw unreachable(options.target, failure);
  } finally {
    probe.disconnect();
  }
  return createBackplane({ kind: 'redis', target: options.target, retention: DEFAULT_RETENTION });
}

/** Runs one key-store operation with a deadline; failures of a Redis that went away map to ExitCode.Unavailable. */
export async function withBackplane<T>(
  backplane: Backplane,
  target: RedisTarget,
  timeoutMs: number,
  op: () => Promise<T>,
): Promise<T> {
  try {
    return await withTimeout(op(), timeoutMs);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as { name?: unknown; code?: unknown })?.code;
    if ((err as Error)?.name === 'KeyStoreError' && code === 'invalid-options') {
      throw new CliError(ExitCode.Usage, (err as Error).message);
    }
    if (err instanceof TimeoutError || !backplane.isHealthy() || looksLikeConnectionError(err)) {
      throw unreachable(target, err);
    }
    throw err;
  }
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** ioredis and KeyStoreError('backend') failures that mean Redis is gone, not that the request was wrong. */
function looksLikeConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  if (e?.name === 'KeyStoreError' && e.code === 'backend') return true;
  const text = `${String(e?.code)} ${String(e?.name)} ${String(e?.message)}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|MaxRetriesPerRequest|Stream isn't writeable/i.test(
    text,
  );
}

/** Redis answered, and refused the credentials (or their absence): NOAUTH, WRONGPASS. */
function refusedLogin(err: unknown): boolean {
  return /^(NOAUTH|WRONGPASS)\b/.test(String((err as Error)?.message));
}

function loginRefused(target: RedisTarget, err: unknown): CliError {
  return new CliError(
    ExitCode.Unauthorized,
    `Redis at ${describeRedisTarget(target)} refused the login (${(err as Error).message}). ` +
      'Check the user and password (HYDRA_REDIS_URL, or HYDRA_REDIS_USERNAME / HYDRA_REDIS_PASSWORD).',
  );
}

function unreachable(target: RedisTarget, err: unknown): CliError {
  const reason = err instanceof Error ? err.message : String(err);
  return new CliError(
    ExitCode.Unavailable,
    `cannot reach Redis at ${describeRedisTarget(target)} (${reason}). ` +
      'Set HYDRA_REDIS_URL (or HYDRA_REDIS_SENTINELS, HYDRA_REDIS_CLUSTER_NODES) to the Redis your gateways use; the key store lives there.',
  );
}

/** The URL without its password, for messages. */
export const safeUrl = safeRedisUrl;
