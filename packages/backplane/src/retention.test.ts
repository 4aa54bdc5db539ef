import { describe, expect, it } from 'vitest';
import { assertRetentionPolicy, DEFAULT_RETENTION, parseRetention, type RetentionPolicy } from './retention.js';

describe('parseRetention', () => {
  it('gives every scope the default history bounds', () => {
    const policy = parseRetention(undefined);
    for (const r of Object.values(policy)) {
      expect(r).toMatchObject({ historyMaxItems: 10_000, historyMaxAgeMs: 3_600_000 });
    }
    expect(policy).toEqual(DEFAULT_RETENTION);
  });

  it('keeps the existing syntax and adds history and historyAge for every scope kind', () => {
    const policy = parseRetention(
      'aircraft:ttl=30000, signals:max=500,signals:age=600000,aircraft:history=50,signals:historyAge=1000,vessels:history=7',
    );
    expect(policy.aircraft).toEqual({ kind: 'entity', ttlMs: 30_000, historyMaxItems: 50, historyMaxAgeMs: 3_600_000 });
    expect(policy.signals).toEqual({
      kind: 'log',
      maxItems: 500,
      maxAgeMs: 600_000,
      historyMaxItems: 10_000,
      historyMaxAgeMs: 1000,
    });
    expect(policy.vessels).toMatchObject({ historyMaxItems: 7 });
    expect(Object.isFrozen(policy)).toBe(true);
  });

  it('fills in history bounds missing from an older base policy', () => {
    const base = { ...DEFAULT_RETENTION, aircraft: { kind: 'entity', ttlMs: 5 } } as unknown as RetentionPolicy;
    expect(parseRetention('', base).aircraft).toEqual({
      kind: 'entity',
      ttlMs: 5,
      historyMaxItems: 10_000,
      historyMaxAgeMs: 3_600_000,
    });
  });

  it.each([
    ['aircraft:max=3', /does not apply to entity scope aircraft/],
    ['signals:ttl=3', /does not apply to log scope signals/],
    ['signals:history=0', /needs a positive integer/],
    ['signals:historyAge=0', /needs a positive integer/],
    ['ships:history=5', /cannot parse "ships:history=5"/],
    ['signals:history=-1', /cannot parse/],
    ['signals:historyage=5', /cannot parse/],
  ])('rejects %s', (text, message) => {
    expect(() => parseRetention(text)).toThrow(message);
  });
});

describe('assertRetentionPolicy', () => {
  it('requires positive integer history bounds', () => {
    expect(() => assertRetentionPolicy(DEFAULT_RETENTION)).not.toThrow();
    const bad = { ...DEFAULT_RETENTION, cyber: { ...DEFAULT_RETENTION.cyber, historyMaxAgeMs: 0 } };
    expect(() => assertRetentionPolicy(bad)).toThrow(/log scope cyber/);
    const missing = { ...DEFAULT_RETENTION, vessels: { kind: 'entity', ttlMs: 1 } } as unknown as RetentionPolicy;
    expect(() => assertRetentionPolicy(missing)).toThrow(/entity scope vessels/);
  });
});
