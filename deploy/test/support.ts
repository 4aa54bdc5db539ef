/**
 * Shared pieces of the offline deployment checks: the operator contract (env
 * names, ports, metric names) the files under deploy/ must agree with, and
 * small readers for YAML, PromQL and external tools.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const repoPath = (...parts: string[]): string => join(ROOT, ...parts);
export const readText = (...parts: string[]): string => readFileSync(repoPath(...parts), 'utf8');

/** Every HYDRA_* variable of the operator contract, and which process reads it. */
export const GATEWAY_ENV = new Set([
  'HYDRA_REDIS_URL',
  'HYDRA_PORT',
  'HYDRA_ADMIN_PORT',
  'HYDRA_PING_INTERVAL_MS',
  'HYDRA_MAX_CONNECTIONS_PER_IP',
  'HYDRA_TRUSTED_PROXIES',
  'HYDRA_LOG_LEVEL',
  'HYDRA_DRAIN_MS',
  'HYDRA_LIMITER_LEASE_MS',
  'HYDRA_TLS_CERT_FILE',
  'HYDRA_TLS_KEY_FILE',
]);
export const PUBLISHER_ENV = new Set([
  'HYDRA_REDIS_URL',
  'HYDRA_PUBLISHER_PORT',
  'HYDRA_INGEST_TOKEN',
  'HYDRA_LOG_LEVEL',
  'HYDRA_DEMO_FEED',
]);
export const KNOWN_ENV = new Set([...GATEWAY_ENV, ...PUBLISHER_ENV]);
/** Switches that let the gateway run on uWS's JavaScript fallback: never set by a deployment. */
export const FALLBACK_SWITCHES = ['HYDRA_ALLOW_UWS_FALLBACK', 'UWS_USE_FALLBACK'];

export const CONTRACT = {
  port: 8080,
  adminPort: 9091,
  publisherPort: 8090,
  drainMs: 10_000,
  readyPath: '/readyz',
  livePath: '/healthz',
  metricsPath: '/metrics',
  gatewayMain: 'apps/gateway/dist/main.js',
  publisherMain: 'apps/publisher/dist/main.js',
} as const;

/** The metric catalogue dashboards and alerts may use (histograms also as _bucket/_sum/_count). */
export const METRICS = {
  gauges: ['hydra_connections', 'hydra_redis_up', 'hydra_retention_mismatch', 'hydra_paced_clients'],
  counters: [
    'hydra_connections_opened_total',
    'hydra_connections_closed_total',
    'hydra_connections_rejected_total',
    'hydra_messages_delivered_total',
    'hydra_bytes_delivered_total',
    'hydra_slow_consumer_closes_total',
    'hydra_ingest_events_total',
  ],
  histograms: [
    'hydra_delivery_latency_seconds',
    'hydra_snapshot_duration_seconds',
    'hydra_redis_command_duration_seconds',
  ],
} as const;

const SERIES_NAMES = new Set<string>([
  ...METRICS.gauges,
  ...METRICS.counters,
  ...METRICS.histograms.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
]);

export function isKnownSeries(name: string): boolean {
  return SERIES_NAMES.has(name);
}

const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects. Strips strings, label
 * matchers, ranges, grouping clauses and Grafana variables, then keeps the
 * identifiers that are not function calls or keywords.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const rest = stripped.slice((match.index ?? 0) + match[0].length);
    if (/^\s*\(/.test(rest)) continue; // function or aggregation
    if (PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

/** Parses YAML with merge keys (`<<: *anchor`), failing on any parse error. */
export function loadYaml(text: string): unknown {
  return parseYaml(text, { merge: true, prettyErrors: true });
}

/** Every document of a multi-document YAML file (empty documents dropped). */
export function loadYamlDocuments(text: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: true });
  const out: Record<string, unknown>[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value as Record<string, unknown>);
  }
  return out;
}

/** Files under a directory of the repo (recursive), as repo-relative paths. */
export function filesUnder(dir: string, test: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const path = join(abs, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (test(name)) out.push(relative(ROOT, path));
    }
  };
  walk(repoPath(dir));
  return out.sort();
}

export const inCI = ((): boolean => {
  const ci = process.env['CI']?.toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
})();

export function hasTool(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Whether a check needing an external binary is skipped: only when the binary
 * is absent *and* this is not CI. Under CI=true a missing binary fails the test.
 */
export function skipWithout(command: string, debianPackage: string): boolean {
  if (hasTool(command) || inCI) return false;
  console.warn(
    `[deploy] skipping the ${command} check: ${command} is not installed ` +
      `(apt-get install -y ${debianPackage}). Under CI=true this check fails instead.`,
  );
  return true;
}

/** Runs a tool from the repo root; fails with its output (or a clear message when it is missing). */
export function runTool(command: string, args: string[], debianPackage: string): string {
  if (!hasTool(command)) {
    throw new Error(`${command} is not installed: CI must install it (apt-get install -y ${debianPackage})`);
  }
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${output}`);
  }
  return output;
}

/** Is an IPv4 address or CIDR inside another IPv4 CIDR? */
export function ipv4Within(inner: string, outer: string): boolean {
  const toInt = (ip: string): number => {
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
      throw new Error(`not an IPv4 address: ${ip}`);
    }
    return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  };
  const [innerIp, innerBitsText] = inner.split('/');
  const [outerIp, outerBitsText] = outer.split('/');
  const innerBits = innerBitsText === undefined ? 32 : Number(innerBitsText);
  const outerBits = outerBitsText === undefined ? 32 : Number(outerBitsText);
  if (innerBits < outerBits) return false;
  const mask = outerBits === 0 ? 0 : (~0 << (32 - outerBits)) >>> 0;
  return (toInt(innerIp!) & mask) >>> 0 === (toInt(outerIp!) & mask) >>> 0;
}

/** HYDRA_* (and fallback-switch) names appearing in a text, comments included. */
export function hydraNamesIn(text: string): string[] {
  return [...new Set(text.match(/\bHYDRA_[A-Z0-9_]+\b/g) ?? [])].sort();
}
