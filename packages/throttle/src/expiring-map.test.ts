import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpiringMap } from './expiring-map.js';

describe('ExpiringMap', () => {
  it('forgets an entry at its expiry', () => {
    const m = new ExpiringMap<string, number>(10);
    m.set('a', 1, 100);
    expect(m.get('a', 99)).toBe(1);
    expect(m.get('a', 100)).toBeUndefined();
    expect(m.size).toBe(0);
  });

  it('evicts the oldest-written entry at the cap', () => {
    const m = new ExpiringMap<string, number>(2);
    m.set('a', 1, 1000);
    m.set('b', 2, 1000);
    m.set('a', 3, 1000); // rewritten: now the newest
    m.set('c', 4, 1000);
    expect([m.get('a', 0), m.get('b', 0), m.get('c', 0)]).toEqual([3, undefined, 4]);
  });

  it('sweeps expired entries and visits the live ones', () => {
    const m = new ExpiringMap<string, number>(10);
    m.set('old', 1, 10);
    m.set('new', 2, 100);
    const live: number[] = [];
    m.sweep(50, (v) => live.push(v));
    expect(live).toEqual([2]);
    expect(m.size).toBe(1);
  });

  it('never holds more than its cap, whatever the writes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.nat(1000)), { maxLength: 200 }),
        (cap, writes) => {
          const m = new ExpiringMap<string, number>(cap);
          for (const [k, until] of writes) m.set(k, until, until);
          expect(m.size).toBeLessThanOrEqual(cap);
        },
      ),
    );
  });
});
