/**
 * Shared pieces of the offline deployment checks: the operator contract (env
 * names, ports, metric names) the files under deploy/ must agree with, and
 * small readers for YAML, PromQL and external tools.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool } from '@hydra/test-support';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const repoPath = (...parts: string[]): string => join(ROOT, ...parts);
export const readText = (...parts: string[]): string => readFileSync(repoPath(...parts), 'utf8');

/** How every process names the backplane's Redis (readRedisTarget of @hydra/config: one mode, its credentials). */
export const REDIS_TARGET_ENV = [
  'HYDRA_REDIS_URL',
  'HYDRA_REDIS_URL_FILE',
  'HYDRA_REDIS_SENTINELS',
  'HYDRA_REDIS_SENTINEL_NAME',
  'HYDRA_REDIS_CLUSTER_NODES',
  'HYDRA_REDIS_USERNAME',
  'HYDRA_REDIS_PASSWORD',
  'HYDRA_REDIS_PASSWORD_FILE',
  'HYDRA_REDIS_SENTINEL_USERNAME',
  'HYDRA_REDIS_SENTINEL_PASSWORD',
  'HYDRA_REDIS_SENTINEL_PASSWORD_FILE',
  'HYDRA_REDIS_TLS',
  'HYDRA_REDIS_TLS_CA_FILE',
  'HYDRA_REDIS_TLS_CERT_FILE',
  'HYDRA_REDIS_TLS_KEY_FILE',
];

/** Every HYDRA_* variable of the operator contract, and which process reads it. */
export const GATEWAY_ENV = new Set([
  ...REDIS_TARGET_ENV,
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
  ...REDIS_TARGET_ENV,
  'HYDRA_INGEST_MIN_REPLICAS',
  'HYDRA_INGEST_REPLICA_TIMEOUT_MS',
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

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type MetricProcess = 'gateway' | 'publisher';
export interface CatalogueEntry {
  name: string;
  type: MetricType;
  labels: string[];
  processes: MetricProcess[];
}

/** Prefixes of prom-client's process metrics, documented as a group rather than row by row. */
export const PROCESS_METRIC_PREFIXES = ['hydra_gateway_', 'hydra_publisher_'] as const;

/** Where the metrics catalogue lives (linked from the README). */
export const METRICS_CATALOGUE = 'docs/metrics.md';

/**
 * The metrics catalogue as docs/metrics.md documents it (its tables: metric |
 * type | labels | process | meaning). Dashboards and alerts may use only
 * these; a test compares it with real scrapes.
 */
export function metricCatalogue(text = readText(METRICS_CATALOGUE)): CatalogueEntry[] {
  if (!text.startsWith('# Metrics catalogue')) throw new Error(`${METRICS_CATALOGUE} is not the metrics catalogue`);
  const entries: CatalogueEntry[] = [];
  for (const line of text.split('\n')) {
    const row = /^\| `(hydra_\w+)` \| (\w+) \| ([^|]*) \| ([^|]*) \|/.exec(line);
    if (!row) continue;
    const [, name, type, labels, processes] = row as unknown as [string, string, string, string, string];
    if (!['counter', 'gauge', 'histogram'].includes(type))
      throw new Error(`${METRICS_CATALOGUE}: ${name} has type ${type}`);
    entries.push({
      name,
      type: type as MetricType,
      labels: [...labels.matchAll(/`(\w+)`/g)].map((m) => m[1]!).sort(),
      processes: processes.split(',').map((p) => p.trim() as MetricProcess),
    });
  }
  if (entries.length === 0) throw new Error(`${METRICS_CATALOGUE} has no catalogue rows`);
  return entries;
}

/** The series names a family exposes (histograms as _bucket/_sum/_count). */
export function seriesNamesOf(name: string, type: string): string[] {
  return type === 'histogram' || type === 'summary'
    ? [`${name}_bucket`, `${name}_sum`, `${name}_count`].slice(type === 'summary' ? 1 : 0)
    : [name];
}

const SERIES_NAMES = new Set<string>(metricCatalogue().flatMap((m) => seriesNamesOf(m.name, m.type)));

export function isKnownSeries(name: string): boolean {
  return SERIES_NAMES.has(name);
}

/** Every metric name the Grafana dashboards and the Prometheus rules select (`up` aside). */
export function metricNamesInDeployFiles(): Map<string, string> {
  const used = new Map<string, string>();
  const exprsOf = (node: unknown): string[] =>
    Array.isArray(node)
      ? node.flatMap(exprsOf)
      : typeof node === 'object' && node !== null
        ? Object.entries(node).flatMap(([k, v]) => (k === 'expr' && typeof v === 'string' ? [v] : exprsOf(v)))
        : [];
  for (const file of filesUnder('deploy/grafana', (n) => n.endsWith('.json'))) {
    for (const expr of exprsOf(JSON.parse(readText(file)))) {
      for (const name of metricNamesIn(expr)) used.set(name, file);
    }
  }
  for (const file of filesUnder('deploy/prometheus/rules', (n) => /\.ya?ml$/.test(n))) {
    const rules = loadYaml(readText(file)) as { groups: { rules: { expr: string }[] }[] };
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      for (const name of metricNamesIn(rule.expr)) used.set(name, file);
    }
  }
  used.delete('up');
  return used;
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

export { hasTool, inCI, requireTool, skipWithout } from '@hydra/test-support';

/** Runs a tool from the repo root; fails with its output (or a clear message when it is missing). */
export function runTool(command: string, args: string[], debianPackage: string, input?: string): string {
  requireTool(command, debianPackage);
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000, input });
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
