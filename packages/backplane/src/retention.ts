import { SCOPE_KIND, SCOPES, type Scope } from '@hydra/protocol';

/** How long an entity stays in its scope's snapshot without an update. */
export interface EntityRetention {
  kind: 'entity';
  ttlMs: number;
}

/** Which recent events of a log scope its snapshot holds: at most `maxItems`, none older than `maxAgeMs`. */
export interface LogRetention {
  kind: 'log';
  maxItems: number;
  maxAgeMs: number;
}

export type ScopeRetention = EntityRetention | LogRetention;
export type RetentionPolicy = Readonly<Record<Scope, ScopeRetention>>;

export const DEFAULT_RETENTION: RetentionPolicy = Object.freeze({
  signals: { kind: 'log', maxItems: 100, maxAgeMs: 3_600_000 },
  aircraft: { kind: 'entity', ttlMs: 60_000 },
  vessels: { kind: 'entity', ttlMs: 600_000 },
  alerts: { kind: 'log', maxItems: 100, maxAgeMs: 86_400_000 },
  cyber: { kind: 'log', maxItems: 100, maxAgeMs: 86_400_000 },
});

/**
 * Parses `HYDRA_RETENTION`: comma-separated overrides such as
 * `aircraft:ttl=30000,signals:max=500,signals:age=600000` (milliseconds).
 * Throws an Error naming the bad part.
 */
export function parseRetention(text: string | undefined, base: RetentionPolicy = DEFAULT_RETENTION): RetentionPolicy {
  const out = Object.fromEntries(SCOPES.map((s) => [s, { ...base[s] }])) as Record<Scope, ScopeRetention>;
  if (text === undefined || text.trim() === '') return Object.freeze(out);
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+):(ttl|max|age)=(\d+)\s*$/.exec(part);
    const scope = m?.[1] as Scope | undefined;
    if (!m || !scope || !SCOPES.includes(scope)) throw new Error(`HYDRA_RETENTION: cannot parse "${part}"`);
    const value = Number(m[3]);
    const r = out[scope];
    if (m[2] === 'ttl' && r.kind === 'entity' && value > 0) r.ttlMs = value;
    else if (m[2] === 'max' && r.kind === 'log' && value > 0) r.maxItems = value;
    else if (m[2] === 'age' && r.kind === 'log' && value > 0) r.maxAgeMs = value;
    else throw new Error(`HYDRA_RETENTION: "${part}" does not apply to ${SCOPE_KIND[scope]} scope ${scope}`);
  }
  return Object.freeze(out);
}

/**
 * Throws unless `policy` has a retention of the right kind for every scope
 * (entity scopes a TTL, log scopes maxItems and maxAge, all positive). The
 * buses and snapshot stores call it once at construction.
 */
export function assertRetentionPolicy(policy: RetentionPolicy): void {
  for (const scope of SCOPES) {
    const r = policy[scope];
    const ok =
      r !== undefined &&
      r.kind === SCOPE_KIND[scope] &&
      (r.kind === 'entity' ? r.ttlMs > 0 : r.maxItems > 0 && r.maxAgeMs > 0);
    if (!ok) throw new Error(`retention for ${SCOPE_KIND[scope]} scope ${scope} is missing or invalid`);
  }
}
