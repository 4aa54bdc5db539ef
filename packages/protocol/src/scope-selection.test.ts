import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatScopeSelection, MAX_SCOPES_LENGTH, parseScopeSelection } from './scope-selection.js';
import { SCOPES } from './scopes.js';

describe('parseScopeSelection', () => {
  it('reads one or several scope names in the order given, blanks around names ignored', () => {
    expect(parseScopeSelection('aircraft')).toEqual({ ok: true, scopes: ['aircraft'] });
    expect(parseScopeSelection('alerts,aircraft')).toEqual({ ok: true, scopes: ['alerts', 'aircraft'] });
    expect(parseScopeSelection(' alerts , cyber ')).toEqual({ ok: true, scopes: ['alerts', 'cyber'] });
  });

  it.each([
    ['', 'scopes: empty list (omit the option to get every scope of the key)'],
    ['  ', 'scopes: empty list (omit the option to get every scope of the key)'],
    ['aircraft,', 'scopes: empty item in the list'],
    [',aircraft', 'scopes: empty item in the list'],
    ['aircraft,,alerts', 'scopes: empty item in the list'],
    ['planes', 'scopes: unknown scope "planes"'],
    ['Aircraft', 'scopes: unknown scope "Aircraft"'],
    ['aircraft,alerts,aircraft', 'scopes: aircraft given twice'],
    ['x'.repeat(MAX_SCOPES_LENGTH + 1), `scopes: longer than ${MAX_SCOPES_LENGTH} characters`],
  ])('refuses %j, naming the option', (text, reason) => {
    expect(parseScopeSelection(text)).toEqual({ ok: false, reason });
  });

  it('accepts every scope named once, even with a blank around each name', () => {
    expect(parseScopeSelection(SCOPES.map((s) => ` ${s} `).join(','))).toEqual({ ok: true, scopes: SCOPES });
  });

  it('round-trips any non-empty list of distinct scopes through formatScopeSelection', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom(...SCOPES), { minLength: 1 }), (scopes) => {
        expect(parseScopeSelection(formatScopeSelection(scopes))).toEqual({ ok: true, scopes });
      }),
    );
  });

  it('never throws, and any refusal names the option', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const r = parseScopeSelection(text);
        if (!r.ok) expect(r.reason.startsWith('scopes: ')).toBe(true);
      }),
    );
  });
});
