import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthThrottle, throttleSource } from './auth-throttle.js';

describe('AuthThrottle', () => {
  it('throttles a source after the limit within the window, for one window', () => {
    const t = new AuthThrottle({ failureLimit: 3, windowMs: 1000 });
    expect(t.recordFailure('10.0.0.1', 0)).toBe(false);
    expect(t.recordFailure('10.0.0.1', 10)).toBe(false);
    expect(t.retryAfterMs('10.0.0.1', 10)).toBe(0);
    expect(t.recordFailure('10.0.0.1', 20)).toBe(true);
    expect(t.retryAfterMs('10.0.0.1', 20)).toBe(1000);
    expect(t.retryAfterMs('10.0.0.1', 520)).toBe(500);
    expect(t.retryAfterMs('10.0.0.2', 520)).toBe(0);
    // Attempts during the cool-down do not extend it.
    expect(t.recordFailure('10.0.0.1', 900)).toBe(false);
    expect(t.retryAfterMs('10.0.0.1', 1020)).toBe(0);
    expect(t.sweep(1020)).toBe(0);
  });

  it('starts a new count after the window', () => {
    const t = new AuthThrottle({ failureLimit: 3, windowMs: 1000 });
    t.recordFailure('10.0.0.1', 0);
    t.recordFailure('10.0.0.1', 1);
    expect(t.recordFailure('10.0.0.1', 1001)).toBe(false);
    expect(t.retryAfterMs('10.0.0.1', 1001)).toBe(0);
  });

  it('counts an IPv6 /64 as one source', () => {
    const t = new AuthThrottle({ failureLimit: 2, windowMs: 1000 });
    t.recordFailure('2001:db8:1:2::1', 0);
    expect(t.recordFailure('2001:db8:1:2:ffff:ffff:ffff:ffff', 0)).toBe(true);
    expect(t.retryAfterMs('2001:db8:1:2::abcd', 1)).toBeGreaterThan(0);
    expect(t.retryAfterMs('2001:db8:1:3::1', 1)).toBe(0);
    expect(t.sweep(1)).toBe(1);
  });

  it('is off with a limit of 0', () => {
    const t = new AuthThrottle({ failureLimit: 0, windowMs: 1000 });
    for (let i = 0; i < 100; i++) expect(t.recordFailure('10.0.0.1', i)).toBe(false);
    expect(t.retryAfterMs('10.0.0.1', 100)).toBe(0);
  });

  it('keeps memory bounded under failures from many sources', () => {
    const t = new AuthThrottle({ failureLimit: 2, windowMs: 60_000, maxEntries: 50 });
    for (let i = 0; i < 5000; i++) t.recordFailure(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 0);
    expect(t.sweep(1)).toBe(0);
  });
});

describe('throttleSource', () => {
  it('keeps IPv4 addresses and reduces IPv6 to its /64', () => {
    expect(throttleSource('203.0.113.7')).toBe('203.0.113.7');
    // A dual-stack socket's IPv4 peer is that IPv4 address, not the shared ::ffff:0:0/96.
    expect(throttleSource('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(throttleSource('::FFFF:198.51.100.1')).not.toBe(throttleSource('::ffff:203.0.113.7'));
    expect(throttleSource('2001:DB8:0:0001::1')).toBe('2001:db8:0:1::/64');
    expect(throttleSource('::1')).toBe('0:0:0:0::/64');
    expect(throttleSource('2001:db8::1.2.3.4')).toBe('2001:db8:0:0::/64');
    expect(throttleSource('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('never throws and puts every address of one /64, however written, in one source', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    const groups = (n: number) => fc.array(group, { minLength: n, maxLength: n });
    // The URL parser writes an IPv6 address in its canonical compressed form (`::` and all).
    const compressed = (ip: string) => new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    fc.assert(
      fc.property(groups(4), groups(4), groups(4), (prefix, a, b) => {
        const first = [...prefix, ...a].join(':');
        const second = compressed([...prefix, ...b].join(':'));
        expect(throttleSource(first)).toBe(throttleSource(second));
        expect(throttleSource(first)).toBe(`${prefix.map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`);
      }),
    );
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (text) => void throttleSource(text)));
  });
});
