/**
 * Typed readers of `HYDRA_*` environment variables, shared by every Hydra
 * process so each variable means the same everywhere. A value is read
 * trimmed; blank counts as unset. Every failure throws a ConfigError whose
 * message starts with the variable's name, so a bad value stops the process
 * at start with a message the operator can act on. Values that may carry a
 * secret (a Redis URL's password) are never echoed.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** The variable at fault. */
    readonly variable: string,
    /** What is wrong with it, without its name. */
    problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** At most this much of a bad value is quoted back. */
const QUOTE_CHARS = 40;
const quote = (text: string) => `"${text.slice(0, QUOTE_CHARS)}"`;

/** The variable's trimmed value, or undefined when unset or blank. */
export function readString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function readInt(env: Env, name: string, fallback: number, range: { min: number; max: number }): number {
  const text = readString(env, name);
  if (text === undefined) return fallback;
  if (!/^-?\d+$/.test(text)) throw new ConfigError(name, `must be an integer, got ${quote(text)}`);
  const value = Number(text);
  if (value < range.min || value > range.max) {
    throw new ConfigError(name, `must be between ${range.min} and ${range.max}, got ${value}`);
  }
  return value;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const text = readString(env, name)?.toLowerCase();
  if (text === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new ConfigError(name, `must be true or false, got ${quote(text)}`);
}

export function readEnum<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const text = readString(env, name);
  if (text === undefined) return fallback;
  if (!(values as readonly string[]).includes(text)) {
    throw new ConfigError(name, `must be one of ${values.join(', ')}, got ${quote(text)}`);
  }
  return text as T;
}

/**
 * Reads a variable with a parser of its own (CIDR lists, retention policies);
 * the parser's errors become ConfigErrors naming the variable.
 */
export function readWith<T>(env: Env, name: string, parse: (text: string | undefined) => T): T {
  try {
    return parse(readString(env, name));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const problem = (err as Error).message.replace(new RegExp(`^${name}:?\\s*`), '');
    throw new ConfigError(name, `is invalid: ${problem}`);
  }
}

/** A `redis://` or `rediss://` URL. The value is never echoed: it may carry a password. */
export function readRedisUrl(env: Env, name: string): string | undefined {
  const value = readString(env, name);
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
