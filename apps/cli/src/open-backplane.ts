import { type Backplane, createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import { Redis } from 'ioredis';
import { CliError } from './errors.js';
import { ExitCode } from './exit-code.js';

export interface OpenOptions {
  url: string;
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
  const probe = new Redis(options.url, {
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
    if (refusedLogin(failure)) throw loginRefused(options.url, failure);
    throw unreachable(options.url, failure);
  } finally {
    probe.disconnect();
  }
  return createBackplane({ kind: 'redis', url: options.url, retention: DEFAULT_RETENTION });
}

/** Runs one key-store operation with a deadline; failures of a Redis that went away map to ExitCode.Unavailable. */
export async function withBackplane<T>(
  backplane: Backplane,
  url: string,
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
      throw unreachable(url, err);
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

function loginRefused(url: string, err: unknown): CliError {
  return new CliError(
    ExitCode.Unauthorized,
    `Redis at ${safeUrl(url)} refused the login (${(err as Error).message}). ` +
      'Check the user and password in HYDRA_REDIS_URL.',
  );
}

function unreachable(url: string, err: unknown): CliError {
  const reason = err instanceof Error ? err.message : String(err);
  return new CliError(
    ExitCode.Unavailable,
    `cannot reach Redis at ${safeUrl(url)} (${reason}). ` +
      'Set HYDRA_REDIS_URL to the Redis your gateways use; the key store lives there.',
  );
}

/** The URL without its password, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}
