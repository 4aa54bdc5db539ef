import { SCOPE_KIND, SCOPES, type Scope } from '@hydra/protocol';

/**
 * How much of a scope's event history (the frames a resuming client replays)
 * is kept: at most `historyMaxItems` events, none older than
 * `historyMaxAgeMs`. Both bounds are applied exactly at read time (an event
 * beyond either bound is reported gone even if not yet trimmed); storage is
 * trimmed lazily, so it may briefly hold a little more.
 */
export interface HistoryRetention {
  historyMaxItems: number;
  historyMaxAgeMs: number;
}

/** How long an entity stays in its scope's snapshot without an update, and the scope's history bounds. */
export interface EntityRetention extends HistoryRetention {
  kind: 'entity';
  ttlMs: number;
}

/**
 * Which recent events of a log scope its snapshot holds (at most `maxItems`,
 * none older than `maxAgeMs`), and the scope's history bounds.
 */
export interface LogRetention extends HistoryRetention {
  kind: 'log';
  maxItems: number;
  maxAgeMs: number;
}

export type ScopeRetention = EntityRetention | LogRetention;
export type RetentionPolicy = Readonly<Record<Scope, ScopeRetention>>;

/** History kept per scope unless HYDRA_RETENTION overrides it: 10,000 events, one hour. */
export const DEFAULT_HISTORY_RETENTION: Readonly<HistoryRetention> = Object.freeze({
  historyMaxItems: 10_000,
  historyMaxAgeMs: 3_600_000,
});

const H = DEFAULT_HISTORY_RETENTION;

export const DEFAULT_RETENTION: RetentionPolicy = Object.freeze({
  signals: { kind: 'log', maxItems: 100, maxAgeMs: 3_600_000, ...H },
  aircraft: { kind: 'entity', ttlMs: 60_000, ...H },
  vessels: { kind: 'entity', ttlMs: 600_000, ...H },
  alerts: { kind: 'log', maxItems: 100, maxAgeMs: 86_400_000, ...H },
  cyber: { kind: 'log', maxItems: 100, maxAgeMs: 86_400_000, ...H },
});

/**
 * Parses `HYDRA_RETENTION`: comma-separated overrides such as
 * `aircraft:ttl=30000,signals:max=500,signals:age=600000,aircraft:history=50000,aircraft:historyAge=600000`
 * (milliseconds). `ttl` applies to entity scopes, `max` and `age` to log
 * scopes (their snapshot), `history` and `historyAge` to every scope.
 * Throws an Error naming the bad part.
 */
export function parseRetention(text: string | undefined, base: RetentionPolicy = DEFAULT_RETENTION): RetentionPolicy {
  const out = Object.fromEntries(SCOPES.map((s) => [s, { ...H, ...base[s] }])) as Record<Scope, ScopeRetention>;
  if (text === undefined || text.trim() === '') return Object.freeze(out);
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+):(ttl|max|age|history|historyAge)=(\d+)\s*$/.exec(part);
    const scope = m?.[1] as Scope | undefined;
    if (!m || !scope || !SCOPES.includes(scope)) throw new Error(`HYDRA_RETENTION: cannot parse "${part}"`);
    const value = Number(m[3]);
    const r = out[scope];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`HYDRA_RETENTION: "${part}" needs a positive integer`);
    }
    if (m[2] === 'history') r.historyMaxItems = value;
    else if (m[2] === 'historyAge') r.historyMaxAgeMs = value;
    else if (m[2] === 'ttl' && r.kind === 'entity') r.ttlMs = value;
    else if (m[2] === 'max' && r.kind === 'log') r.maxItems = value;
    else if (m[2] === 'age' && r.kind === 'log') r.maxAgeMs = value;
    else throw new Error(`HYDRA_RETENTION: "${part}" does not apply to ${SCOPE_KIND[scope]} scope ${scope}`);
  }
  return Object.freeze(out);
}

/**
 * The whole policy in HYDRA_RETENTION's own syntax, every bound spelled out,
 * scopes in catalogue order: equal policies give equal strings, and
 * `parseRetention(formatRetention(p))` is `p`.
 */
export function formatRetention(policy: RetentionPolicy): string {
  return SCOPES.map((scope) => {
    const r = policy[scope];
    const own = r.kind === 'entity' ? [`ttl=${r.ttlMs}`] : [`max=${r.maxItems}`, `age=${r.maxAgeMs}`];
    return [...own, `history=${r.historyMaxItems}`, `historyAge=${r.historyMaxAgeMs}`]
      .map((bound) => `${scope}:${bound}`)
      .join(',');
  }).join(',');
}

const positiveInteger = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;

/**
 * Throws unless `policy` has a retention of the right kind for every scope
 * (entity scopes a TTL, log scopes maxItems and maxAge, every scope both
 * history bounds; all positive integers). The buses, snapshot and history
 * stores call it once at construction.
 */
export function assertRetentionPolicy(policy: RetentionPolicy): void {
  for (const scope of SCOPES) {
    const r = policy[scope];
    const ok =
      r !== undefined &&
      r.kind === SCOPE_KIND[scope] &&
      positiveInteger(r.historyMaxItems) &&
      positiveInteger(r.historyMaxAgeMs) &&
      (r.kind === 'entity' ? positiveInteger(r.ttlMs) : positiveInteger(r.maxItems) && positiveInteger(r.maxAgeMs));
    if (!ok) throw new Error(`retention for ${SCOPE_KIND[scope]} scope ${scope} is missing or invalid`);
  }
}
