import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF } from './backoff.js';
import { type ConnectionEnd, GAP_WINDOW_MS, LOCAL_CLOSE, ReconnectPolicy } from './reconnect-policy.js';

const B = { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 10_000, busyMs: 2_000, drainMs: 800 };
const policy = (urls = ['ws://a', 'ws://b', 'ws://c']) => new ReconnectPolicy(urls, B, () => 0.5);
/** A connection that was served and then closed with `code`. */
const served = (code: number, more: Partial<ConnectionEnd> = {}): ConnectionEnd => ({
  code,
  upgraded: true,
  served: true,
  resumed: true,
  ...more,
});
/** A dial that never got a message. */
const failed = (more: Partial<ConnectionEnd> = {}): ConnectionEnd => ({
  code: LOCAL_CLOSE,
  upgraded: false,
  served: false,
  resumed: false,
  ...more,
});
const delayOf = (p: ReconnectPolicy, end: ConnectionEnd, now = 0) => {
  const d = p.after(end, now);
  if (d.kind !== 'retry') throw new Error(`expected a retry, got ${d.kind}`);
  return d.delayMs;
};

describe('ReconnectPolicy', () => {
  it('ends on 1008 (key refused) and 4001 (protocol broken), whatever came before', () => {
    for (const code of [1008, 4001]) {
      expect(policy().after(served(code), 0)).toEqual({ kind: 'end' });
      expect(policy().after(failed({ code }), 0)).toEqual({ kind: 'end' });
    }
  });

  it('on 4002 retries without the resume positions; ends when there were none to drop', () => {
    expect(policy().after(served(4002), 0)).toMatchObject({ kind: 'retry', forgetPositions: true });
    expect(policy().after(served(4002, { resumed: false }), 0)).toEqual({ kind: 'end' });
    // A refused `scopes` option fails again whatever the positions: it ends too.
    expect(policy().after(served(4002, { serverError: 'scopes: cyber is not granted to this key' }), 0)).toEqual({
      kind: 'end',
    });
  });

  it('backs off exponentially with full jitter, capped, and starts again after a served connection', () => {
    const p = policy();
    const delays = Array.from({ length: 9 }, () => delayOf(p, failed()));
    expect(delays).toEqual([50, 100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    p.served();
    expect(delayOf(p, failed())).toBe(50);
  });

  it('rotates through the URLs, one per retry', () => {
    const p = policy();
    const seen = [p.url];
    for (let i = 0; i < 4; i++) {
      p.after(failed(), 0);
      seen.push(p.url);
    }
    expect(seen).toEqual(['ws://a', 'ws://b', 'ws://c', 'ws://a', 'ws://b']);
    expect(() => new ReconnectPolicy([], B, Math.random)).toThrow(/no url/);
  });

  it('retries a drain (1001) of a served connection within drainMs, jittered, whatever the attempt count', () => {
    const p = policy();
    for (let i = 0; i < 5; i++) p.after(failed(), 0);
    expect(delayOf(p, served(1001))).toBe(400);
    // A 1001 before any message is not a drain of a served connection: ordinary backoff.
    expect(delayOf(policy(), failed({ code: 1001, upgraded: true }))).toBe(50);
  });

  it('retries the first drop right after an upgrade at once, once per served connection', () => {
    const p = policy();
    const early = failed({ upgraded: true });
    expect(delayOf(p, early)).toBe(0);
    expect(delayOf(p, early)).toBeGreaterThan(0);
    p.served();
    expect(delayOf(p, early)).toBe(0);
    // Never for a dial that was not even upgraded.
    expect(delayOf(policy(), failed())).toBeGreaterThan(0);
  });

  it('waits at least busyMs after 429 or 1013, or the Retry-After the upgrade answer gave', () => {
    expect(delayOf(policy(), failed({ httpStatus: 429 }))).toBe(2_050);
    expect(delayOf(policy(), served(1013))).toBe(2_050);
    expect(delayOf(policy(), failed({ httpStatus: 429, retryAfterMs: 30_000 }))).toBe(30_050);
  });

  it('reconnects at once after a seq gap, but backs off after a second gap within the window', () => {
    const p = policy();
    expect(delayOf(p, served(LOCAL_CLOSE, { local: 'gap' }), 1_000)).toBe(0);
    p.served();
    expect(delayOf(p, served(LOCAL_CLOSE, { local: 'gap' }), 1_000 + GAP_WINDOW_MS - 1)).toBe(50);
    p.served();
    expect(delayOf(p, served(LOCAL_CLOSE, { local: 'gap' }), 1_000 + 3 * GAP_WINDOW_MS)).toBe(0);
  });

  it('backs off after a dead peer or a timeout the client decided itself (no early retry)', () => {
    expect(delayOf(policy(), failed({ upgraded: true, local: 'dead' }))).toBe(50);
  });

  it('retries every other code: 1000, 1006, 1011, 1012, 4000, an HTTP 5xx', () => {
    for (const code of [1000, 1006, 1011, 1012, 4000]) {
      expect(policy().after(served(code), 0)).toMatchObject({ kind: 'retry', forgetPositions: false });
    }
    expect(policy().after(failed({ httpStatus: 503 }), 0)).toMatchObject({ kind: 'retry' });
  });
});
