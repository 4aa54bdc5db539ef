import { isScope, SCOPES, type Scope } from './scopes.js';

/** The `scopes` query option, parsed: the scopes a client asks for, in the order given. */
export type ScopeSelectionResult = { ok: true; scopes: readonly Scope[] } | { ok: false; reason: string };

/** Every scope named once, with commas: no valid `scopes` value is longer. */
export const MAX_SCOPES_LENGTH = SCOPES.join(',').length + 2 * SCOPES.length;

/**
 * Parses the `scopes` query value: scope names separated by commas
 * (`aircraft,alerts`; blanks around a name are ignored). Strict, so a typo
 * is refused, never read as "fewer scopes": an empty value, an empty item,
 * an unknown name or a name given twice is an error whose reason starts
 * with `scopes:`. Whether the key grants them is the gateway's check.
 */
export function parseScopeSelection(text: string): ScopeSelectionResult {
  if (text.length > MAX_SCOPES_LENGTH)
    return { ok: false, reason: `scopes: longer than ${MAX_SCOPES_LENGTH} characters` };
  if (text.trim() === '')
    return { ok: false, reason: 'scopes: empty list (omit the option to get every scope of the key)' };
  const scopes: Scope[] = [];
  for (const part of text.split(',')) {
    const name = part.trim();
    if (name === '') return { ok: false, reason: 'scopes: empty item in the list' };
    if (!isScope(name)) return { ok: false, reason: `scopes: unknown scope "${name.slice(0, 40)}"` };
    if (scopes.includes(name)) return { ok: false, reason: `scopes: ${name} given twice` };
    scopes.push(name);
  }
  return { ok: true, scopes };
}

/** The `scopes` value for `scopes` (the inverse of parseScopeSelection). */
export function formatScopeSelection(scopes: readonly Scope[]): string {
  return scopes.join(',');
}
