/**
 * Small typed readers for environment variables. Every failure throws a
 * ConfigError naming the variable, so a bad value stops the process at start
 * with a message the operator can act on.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function readInt(env: Env, name: string, fallback: number, range: { min: number; max: number }): number {
  const text = raw(env, name);
  if (text === undefined) return fallback;
  if (!/^-?\d+$/.test(text)) throw new ConfigError(`${name} must be an integer, got "${text.slice(0, 40)}"`);
  const value = Number(text);
  if (value < range.min || value > range.max) {
    throw new ConfigError(`${name} must be between ${range.min} and ${range.max}, got ${value}`);
  }
  return value;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const text = raw(env, name)?.toLowerCase();
  if (text === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new ConfigError(`${name} must be true or false, got "${text.slice(0, 40)}"`);
}

export function readString(env: Env, name: string): string | undefined {
  return raw(env, name);
}

export function readEnum<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const text = raw(env, name);
  if (text === undefined) return fallback;
  if (!(values as readonly string[]).includes(text)) {
    throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${text.slice(0, 40)}"`);
  }
  return text as T;
}

/** Wraps a parser of a variable's text so its errors name the variable. */
export function readWith<T>(env: Env, name: string, parse: (text: string | undefined) => T): T {
  try {
    return parse(raw(env, name));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${name}: ${(err as Error).message}`);
  }
}
