import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatResumePositions, parseResumePositions } from './resume-position.js';
import { SCOPES } from './scopes.js';

describe('parseResumePositions', () => {
  it('parses one or several positions, with or without a ts proof', () => {
    const r = parseResumePositions('aircraft:120,signals:0,cyber:7:1764331200123');
    expect(r).toEqual({
      ok: true,
      positions: new Map([
        ['aircraft', { seq: 120, ts: 0 }],
        ['signals', { seq: 0, ts: 0 }],
        ['cyber', { seq: 7, ts: 1764331200123 }],
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
    ['aircraft:1:99999999999999999', 'ts of aircraft is too large'],
    ['aircraft:1:2:3', 'is not <scope>:<seq>[:<ts>]'],
    ['aircraft:1:', 'is not <scope>:<seq>[:<ts>]'],
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
      fc.property(fc.uniqueArray(fc.constantFrom(...SCOPES)), fc.nat(), fc.nat(), (scopes, seq, ts) => {
        const positions = new Map(scopes.map((s) => [s, { seq, ts }] as const));
        expect(parseResumePositions(formatResumePositions(positions))).toEqual({ ok: true, positions });
      }),
    );
  });
});
