import { parseScopeSelection, type Scope } from '@hydra/protocol';

/** The scopes a connection gets, or why its `scopes` option is refused (`error` + 4002). */
export type NarrowedScopes = { ok: true; scopes: readonly Scope[] } | { ok: false; reason: string };

/**
 * The `scopes` query option: a connection takes a subset of its key's scopes.
 *
 * Guarantees:
 * - Without the option (`requested` null) the connection gets the key's own
 *   scope array, unchanged: same scopes, same order, same `connected` bytes.
 * - With it, the connection gets exactly the scopes named, in the key's
 *   order, or a refusal whose reason names the option: a malformed value
 *   (parseScopeSelection) or a scope the key does not grant. Never a silent
 *   grant, never a silent drop.
 * - Connections of one key asking for the same set share one frozen array
 *   (at most 2^5 - 1 subsets per key record): nothing is allocated per
 *   connection, as the session's memory budget requires (session.ts).
 */
export class ScopeNarrowing {
  /** Per key record's scope array (KeyCache shares it between connections), its subsets by canonical name. */
  private readonly subsets = new WeakMap<readonly Scope[], Map<string, readonly Scope[]>>();

  narrow(granted: readonly Scope[], requested: string | null): NarrowedScopes {
    if (requested === null) return { ok: true, scopes: granted };
    const parsed = parseScopeSelection(requested);
    if (!parsed.ok) return parsed;
    const lacking = parsed.scopes.find((scope) => !granted.includes(scope));
    if (lacking !== undefined) return { ok: false, reason: `scopes: the key does not grant scope ${lacking}` };
    return { ok: true, scopes: this.intern(granted, parsed.scopes) };
  }

  private intern(granted: readonly Scope[], wanted: readonly Scope[]): readonly Scope[] {
    const ordered = granted.filter((scope) => wanted.includes(scope));
    if (ordered.length === granted.length) return granted;
    let byName = this.subsets.get(granted);
    if (byName === undefined) {
      byName = new Map();
      this.subsets.set(granted, byName);
    }
    const name = ordered.join(',');
    let shared = byName.get(name);
    if (shared === undefined) {
      shared = Object.freeze(ordered);
      byName.set(name, shared);
    }
    return shared;
  }
}
