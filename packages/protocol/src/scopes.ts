/**
 * The scope catalogue. A scope is both what an API key grants and the `type`
 * of the live events a client receives for it.
 *
 * - Entity scopes hold keyed state (an aircraft by its `id`): the snapshot is
 *   the set of active entities, each leaving it when not updated within the
 *   scope's TTL.
 * - Log scopes are append-only: the snapshot is the most recent events (last N
 *   and/or within the last T).
 */
export const SCOPES = ['signals', 'aircraft', 'vessels', 'alerts', 'cyber'] as const;
export type Scope = (typeof SCOPES)[number];

export type ScopeKind = 'entity' | 'log';

export const SCOPE_KIND: Readonly<Record<Scope, ScopeKind>> = Object.freeze({
  signals: 'log',
  aircraft: 'entity',
  vessels: 'entity',
  alerts: 'log',
  cyber: 'log',
});

export const ENTITY_SCOPES: readonly Scope[] = SCOPES.filter((s) => SCOPE_KIND[s] === 'entity');
export const LOG_SCOPES: readonly Scope[] = SCOPES.filter((s) => SCOPE_KIND[s] === 'log');

const scopeSet: ReadonlySet<string> = new Set(SCOPES);

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && scopeSet.has(value);
}

export function isEntityScope(scope: Scope): boolean {
  return SCOPE_KIND[scope] === 'entity';
}

/** Longest accepted entity `id` (characters). Its format is not enforced. */
export const MAX_ENTITY_ID_LENGTH = 128;

/**
 * Parses a comma-separated scope list (`signals,aircraft`). Returns the scopes
 * in catalogue order without duplicates, or the first unknown name.
 */
export function parseScopeList(text: string): { ok: true; scopes: Scope[] } | { ok: false; unknown: string } {
  const wanted = new Set<string>();
  for (const part of text.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    if (!isScope(name)) return { ok: false, unknown: name };
    wanted.add(name);
  }
  return { ok: true, scopes: SCOPES.filter((s) => wanted.has(s)) };
}
