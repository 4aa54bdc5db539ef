import { readFileSync } from 'node:fs';
import { ConfigError, type Env, readBool, readRedisUrl, readString } from './env.js';

/**
 * Where the backplane lives: the one answer every process (gateway,
 * publisher, embedded on Redis, `hydra keys`, soak, bench) reads from the
 * same variables, so they cannot disagree about it.
 *
 * Exactly one mode names the Redis:
 *
 * - `HYDRA_REDIS_URL` (or `HYDRA_REDIS_URL_FILE`): one Redis, `redis://` or `rediss://` (TLS);
 * - `HYDRA_REDIS_SENTINELS=host:port,…` + `HYDRA_REDIS_SENTINEL_NAME`: the
 *   primary Sentinel names, followed across failovers;
 * - `HYDRA_REDIS_CLUSTER_NODES=host:port,…`: a Redis Cluster (seed nodes).
 *
 * Credentials and TLS for each: `HYDRA_REDIS_USERNAME`, `HYDRA_REDIS_PASSWORD`
 * (data nodes), `HYDRA_REDIS_SENTINEL_USERNAME`, `HYDRA_REDIS_SENTINEL_PASSWORD`
 * (the sentinels themselves), `HYDRA_REDIS_TLS`, `HYDRA_REDIS_TLS_CA_FILE`,
 * `HYDRA_REDIS_TLS_CERT_FILE`, `HYDRA_REDIS_TLS_KEY_FILE`. Each secret can
 * come from a file instead (`<name>_FILE`, a Kubernetes secret mount; one
 * trailing newline is dropped); setting both is an error.
 *
 * Secrets are never echoed in errors, and describeRedisTarget gives the text
 * logs and messages may show.
 */
export type RedisTarget = StandaloneRedisTarget | SentinelRedisTarget | ClusterRedisTarget;

export interface RedisHostPort {
  readonly host: string;
  readonly port: number;
}

export interface RedisAuth {
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** TLS towards Redis (and the sentinels): PEM texts read from the files named. */
export interface RedisTls {
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

export interface StandaloneRedisTarget {
  readonly mode: 'standalone';
  /** As given; may carry credentials (never log it: describeRedisTarget). */
  readonly url: string;
  /** HYDRA_REDIS_USERNAME/PASSWORD, when the URL carries none. */
  readonly auth: RedisAuth;
  /** Set when `rediss://` or HYDRA_REDIS_TLS asks for TLS. */
  readonly tls: RedisTls | undefined;
}

export interface SentinelRedisTarget {
  readonly mode: 'sentinel';
  readonly sentinels: readonly RedisHostPort[];
  /** The master group name the sentinels monitor (`sentinel monitor <name> …`). */
  readonly masterName: string;
  /** Credentials of the primary and replicas. */
  readonly auth: RedisAuth;
  /** Credentials of the sentinels (Redis ≥ 6.2 sentinels can have their own ACL). */
  readonly sentinelAuth: RedisAuth;
  /** TLS for the data nodes and the sentinels alike. */
  readonly tls: RedisTls | undefined;
}

export interface ClusterRedisTarget {
  readonly mode: 'cluster';
  /** Seed nodes: any reachable one reveals the rest of the cluster. */
  readonly nodes: readonly RedisHostPort[];
  readonly auth: RedisAuth;
  readonly tls: RedisTls | undefined;
}

/** The variable that chooses each mode, as named in errors. */
export const REDIS_MODE_VARIABLE: Readonly<Record<RedisTarget['mode'], string>> = Object.freeze({
  standalone: 'HYDRA_REDIS_URL',
  sentinel: 'HYDRA_REDIS_SENTINELS',
  cluster: 'HYDRA_REDIS_CLUSTER_NODES',
});
const REDIS_MODE_VARIABLES = Object.values(REDIS_MODE_VARIABLE);

/**
 * Reads the backplane's Redis from the environment, or undefined when no mode
 * variable is set (callers decide: the embedded mode runs in memory, a
 * gateway replica refuses). Throws a ConfigError naming the variables at
 * fault for anything ambiguous or incomplete.
 */
export function readRedisTarget(env: Env): RedisTarget | undefined {
  const url = readSecret(env, 'HYDRA_REDIS_URL');
  const sentinels = readString(env, 'HYDRA_REDIS_SENTINELS');
  const sentinelName = readString(env, 'HYDRA_REDIS_SENTINEL_NAME');
  const clusterNodes = readString(env, 'HYDRA_REDIS_CLUSTER_NODES');
  const chosen = [
    url === undefined ? undefined : 'HYDRA_REDIS_URL',
    sentinels === undefined ? undefined : 'HYDRA_REDIS_SENTINELS',
    clusterNodes === undefined ? undefined : 'HYDRA_REDIS_CLUSTER_NODES',
  ].filter((name) => name !== undefined);
  if (chosen.length > 1) {
    throw new ConfigError(
      chosen[0]!,
      `and ${chosen.slice(1).join(' and ')} are ${chosen.length === 2 ? 'both' : 'all'} set: name the backplane with exactly one of ${REDIS_MODE_VARIABLES.join(', ')}`,
    );
  }
  if (sentinelName !== undefined && sentinels === undefined) {
    throw new ConfigError('HYDRA_REDIS_SENTINEL_NAME', 'is set without HYDRA_REDIS_SENTINELS');
  }
  const sentinelOnly = [
    'HYDRA_REDIS_SENTINEL_USERNAME',
    'HYDRA_REDIS_SENTINEL_PASSWORD',
    'HYDRA_REDIS_SENTINEL_PASSWORD_FILE',
  ];
  if (sentinels === undefined) {
    const stray = sentinelOnly.find((name) => readString(env, name) !== undefined);
    if (stray !== undefined) throw new ConfigError(stray, 'is set without HYDRA_REDIS_SENTINELS');
  }
  if (chosen.length === 0) {
    const stray = [
      'HYDRA_REDIS_USERNAME',
      'HYDRA_REDIS_PASSWORD',
      'HYDRA_REDIS_PASSWORD_FILE',
      'HYDRA_REDIS_TLS',
      ...TLS_FILE_VARIABLES,
    ].find((name) => readString(env, name) !== undefined);
    if (stray !== undefined) {
      throw new ConfigError(stray, `is set but no Redis is named (set one of ${REDIS_MODE_VARIABLES.join(', ')})`);
    }
    return undefined;
  }
  const auth = readAuth(env, 'HYDRA_REDIS_USERNAME', 'HYDRA_REDIS_PASSWORD');
  if (url !== undefined) {
    readRedisUrl({ HYDRA_REDIS_URL: url }, 'HYDRA_REDIS_URL');
    const parsed = new URL(url);
    if ((parsed.username !== '' || parsed.password !== '') && (auth.username ?? auth.password) !== undefined) {
      throw new ConfigError(
        'HYDRA_REDIS_URL',
        'carries credentials and HYDRA_REDIS_USERNAME/HYDRA_REDIS_PASSWORD are set too: give them in one place',
      );
    }
    const tls = readTls(env, parsed.protocol === 'rediss:');
    return Object.freeze({ mode: 'standalone', url, auth, tls });
  }
  const tls = readTls(env, false);
  if (sentinels !== undefined) {
    if (sentinelName === undefined) {
      throw new ConfigError(
        'HYDRA_REDIS_SENTINEL_NAME',
        'is required with HYDRA_REDIS_SENTINELS (the master group name)',
      );
    }
    return Object.freeze({
      mode: 'sentinel',
      sentinels: readHostPorts('HYDRA_REDIS_SENTINELS', sentinels, 26379),
      masterName: sentinelName,
      auth,
      sentinelAuth: readAuth(env, 'HYDRA_REDIS_SENTINEL_USERNAME', 'HYDRA_REDIS_SENTINEL_PASSWORD'),
      tls,
    });
  }
  return Object.freeze({
    mode: 'cluster',
    nodes: readHostPorts('HYDRA_REDIS_CLUSTER_NODES', clusterNodes!, 6379),
    auth,
    tls,
  });
}

/** A target from a Redis URL (tests, tools that take a URL argument). */
export function redisTargetFromUrl(url: string): StandaloneRedisTarget {
  return Object.freeze({ mode: 'standalone', url, auth: Object.freeze({}), tls: undefined });
}

/**
 * What logs and messages may say about a target: mode and addresses, never
 * a password (a URL's password shows as `***`).
 */
export function describeRedisTarget(target: RedisTarget): string {
  const hosts = (list: readonly RedisHostPort[]) => list.map(formatHostPort).join(',');
  switch (target.mode) {
    case 'standalone':
      return safeRedisUrl(target.url);
    case 'sentinel':
      return `sentinel master "${target.masterName}" via ${hosts(target.sentinels)}${target.tls ? ' (TLS)' : ''}`;
    case 'cluster':
      return `cluster via ${hosts(target.nodes)}${target.tls ? ' (TLS)' : ''}`;
    default: {
      const unknown: never = target;
      return String((unknown as { mode?: unknown }).mode);
    }
  }
}

/** A Redis URL with its password replaced by `***`. */
export function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

function formatHostPort({ host, port }: RedisHostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const TLS_FILE_VARIABLES = ['HYDRA_REDIS_TLS_CA_FILE', 'HYDRA_REDIS_TLS_CERT_FILE', 'HYDRA_REDIS_TLS_KEY_FILE'];

/**
 * `host:port,host:port` (IPv6 as `[addr]:port`; a missing port is `defaultPort`).
 * Host names are quoted back in errors: they are addresses, not secrets.
 */
function readHostPorts(name: string, text: string, defaultPort: number): RedisHostPort[] {
  const list = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (list.length === 0) throw new ConfigError(name, 'must list at least one host:port');
  return list.map((part) => {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(part);
    const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
    if (match === null || port < 1 || port > 65535) {
      throw new ConfigError(name, `must be a comma-separated list of host:port, got "${part.slice(0, 80)}"`);
    }
    return Object.freeze({ host: match[1] ?? match[2]!, port });
  });
}

function readAuth(env: Env, usernameVariable: string, passwordVariable: string): RedisAuth {
  const username = readString(env, usernameVariable);
  const password = readSecret(env, passwordVariable);
  return Object.freeze({
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  });
}

/**
 * A secret from `<name>` or the file `<name>_FILE`, never both. The file's
 * content is taken verbatim but for one trailing newline (what `kubectl
 * create secret --from-file` and editors leave); its text is never echoed.
 */
function readSecret(env: Env, name: string): string | undefined {
  const direct = env[name];
  const file = readString(env, `${name}_FILE`);
  const hasDirect = direct !== undefined && direct.trim() !== '';
  if (hasDirect && file !== undefined) throw new ConfigError(name, `and ${name}_FILE are both set: use one`);
  if (file === undefined) return hasDirect ? direct.trim() : undefined;
  const content = readFileText(`${name}_FILE`, file).replace(/\r?\n$/, '');
  if (content === '') throw new ConfigError(`${name}_FILE`, `names an empty file: ${file}`);
  return content;
}

function readFileText(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(variable, `cannot be read: ${path}`);
  }
}

function readTls(env: Env, fromUrl: boolean): RedisTls | undefined {
  const enabled = fromUrl || readBool(env, 'HYDRA_REDIS_TLS', false);
  const [ca, cert, key] = TLS_FILE_VARIABLES.map((name) => {
    const path = readString(env, name);
    return path === undefined ? undefined : readFileText(name, path);
  });
  if (!enabled) {
    const stray = TLS_FILE_VARIABLES.find((name) => readString(env, name) !== undefined);
    if (stray !== undefined) {
      throw new ConfigError(stray, 'is set but TLS is off (use rediss:// or HYDRA_REDIS_TLS=true)');
    }
    return undefined;
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError('HYDRA_REDIS_TLS_CERT_FILE', 'and HYDRA_REDIS_TLS_KEY_FILE must be set together');
  }
  return Object.freeze({
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  });
}
