import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatResumePositions, parseResumePositions } from './resume-position.js';
import { SCOPES } from './scopes.js';

describe('parseResumePositions', () => {
  it('parses one or several positions', () => {
    const r = parseResumePositions('aircraft:120,signals:0');
    expect(r).toEqual({
      ok: true,
      positions: new Map([
        ['aircraft', 120],
        ['signals', 0],
      ]),
    });
    expect(parseResumePositions('')).toEqual({ ok: true, positions: new Map() });
  });

  it.each([
    ['aircraft', 'is not <scope>:<seq>'],
    ['aircraft:-1', 'is not <scope>:<seq>'],
    ['aircraft:1.5', 'is not <scope>:<seq>'],
    ['planes:1', 'unknown scope "planes"'],
    ['aircraft:1,aircraft:2', 'aircraft given twice'],
    ['aircraft:99999999999999999', 'too large'],
  ])('rejects %s with a reason', (text, reason) => {
    const r = parseResumePositions(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('never throws and round-trips what it accepts', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const r = parseResumePositions(text);
        if (r.ok) expect(parseResumePositions(formatResumePositions(r.positions))).toEqual(r);
      }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom(...SCOPES)), fc.nat(), (scopes, seq) => {
        const positions = new Map(scopes.map((s) => [s, seq] as const));
        expect(parseResumePositions(formatResumePositions(positions))).toEqual({ ok: true, positions });
      }),
    );
  });
});
