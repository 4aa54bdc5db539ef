import type { Scope } from '@hydra/protocol';
import { describe, expect, it } from 'vitest';
import { ScopeNarrowing } from './scope-narrowing.js';

const granted: readonly Scope[] = Object.freeze(['signals', 'aircraft', 'alerts'] as Scope[]);

describe('ScopeNarrowing', () => {
  it('gives the key its own scope array when the option is absent', () => {
    expect(new ScopeNarrowing().narrow(granted, null)).toEqual({ ok: true, scopes: granted });
    expect((new ScopeNarrowing().narrow(granted, null) as { scopes: unknown }).scopes).toBe(granted);
  });

  it('gives exactly the scopes asked for, in the key order', () => {
    expect(new ScopeNarrowing().narrow(granted, 'alerts,signals')).toEqual({ ok: true, scopes: ['signals', 'alerts'] });
  });

  it('shares one frozen array between connections asking for the same subset, in any order', () => {
    const narrowing = new ScopeNarrowing();
    const a = narrowing.narrow(granted, 'alerts,aircraft');
    const b = narrowing.narrow(granted, 'aircraft,alerts');
    if (!a.ok || !b.ok) throw new Error('refused');
    expect(a.scopes).toBe(b.scopes);
    expect(Object.isFrozen(a.scopes)).toBe(true);
    const all = narrowing.narrow(granted, 'alerts,aircraft,signals');
    expect(all.ok && all.scopes).toBe(granted);
  });

  it('refuses a scope the key lacks, naming the option and the scope', () => {
    expect(new ScopeNarrowing().narrow(granted, 'aircraft,vessels')).toEqual({
      ok: false,
      reason: 'scopes: the key does not grant scope vessels',
    });
  });

  it('refuses a malformed value with the parser reason', () => {
    expect(new ScopeNarrowing().narrow(granted, '')).toEqual({
      ok: false,
      reason: 'scopes: empty list (omit the option to get every scope of the key)',
    });
    expect(new ScopeNarrowing().narrow(granted, 'aircraft,aircraft')).toEqual({
      ok: false,
      reason: 'scopes: aircraft given twice',
    });
  });
});
