import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionLimiter, ConnectionLimiterOptions } from '../src/index.js';

/** One backend under test, on empty state. Every limiter it builds is one gateway node. */
export interface ConnectionLimiterFixture {
  /** A limiter on this backend (Redis: with its own connection, like a separate process). */
  limiter(options: ConnectionLimiterOptions): ConnectionLimiter;
  /**
   * Simulates `nodeId` having been cut off long enough for its leases to lapse
   * and be cleaned up: its slots stop counting now, while the node itself
   * still believes it holds them (and keeps renewing).
   */
  expireLeases(nodeId: string): Promise<void>;
  /** Closes every limiter and what the factory opened. */
  close(): Promise<void>;
}

export type ConnectionLimiterFactory = () => Promise<ConnectionLimiterFixture>;

const MAX = 10;
const LEASE_MS = 600;
const IP = '203.0.113.7';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 20 ms until it holds; fails after `timeoutMs`. Returns the elapsed time. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(20);
  }
  return performance.now() - start;
}

async function acquireN(limiter: ConnectionLimiter, ip: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) expect((await limiter.acquire(ip)).granted).toBe(true);
}

export function connectionLimiterContract(name: string, factory: ConnectionLimiterFactory): void {
  describe(`ConnectionLimiter contract: ${name}`, () => {
    let fixture: ConnectionLimiterFixture;
    const node = (nodeId: string, leaseMs = 30_000) => fixture.limiter({ nodeId, maxPerIp: MAX, leaseMs });

    beforeEach(async () => {
      fixture = await factory();
    });

    afterEach(async () => {
      await fixture.close();
    });

    it('grants maxPerIp connections of one IP across nodes and refuses the next on every node', async () => {
      const a = node('a');
      const b = node('b');
      for (let i = 1; i <= MAX; i += 1) {
        expect(await (i % 2 ? a : b).acquire(IP)).toEqual({ granted: true, count: i });
      }
      expect(await a.acquire(IP)).toEqual({ granted: false, count: MAX });
      expect(await b.acquire(IP)).toEqual({ granted: false, count: MAX });
    });

    it('release frees one slot for any node', async () => {
      const a = node('a');
      const b = node('b');
      await acquireN(a, IP, 4);
      await acquireN(b, IP, 6);
      await a.release(IP);
      expect(await b.acquire(IP)).toEqual({ granted: true, count: MAX });
      expect(await a.acquire(IP)).toEqual({ granted: false, count: MAX });
    });

    it('release by a node holding no slot of the IP is a no-op', async () => {
      const a = node('a');
      const b = node('b');
      await acquireN(a, IP, MAX);
      await b.release(IP);
      await b.release('198.51.100.1');
      expect(await b.acquire(IP)).toEqual({ granted: false, count: MAX });
    });

    it('counts each IP independently, IPv6 and IPv4-mapped addresses as given', async () => {
      const a = node('a');
      const b = node('b');
      await acquireN(a, IP, MAX);
      expect(await a.acquire(IP)).toMatchObject({ granted: false });
      for (const other of ['203.0.113.8', '2001:db8::7', '::ffff:203.0.113.7', '::1']) {
        expect(await b.acquire(other)).toEqual({ granted: true, count: 1 });
        expect(await a.acquire(other)).toEqual({ granted: true, count: 2 });
      }
    });

    it('grants exactly maxPerIp of 50 concurrent connects over two nodes', async () => {
      const a = node('a');
      const b = node('b');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).acquire(IP).then((r) => ({ ...r, node: i % 2 ? a : b }))),
      );
      const granted = results.filter((r) => r.granted);
      expect(granted).toHaveLength(MAX);
      expect(new Set(granted.map((r) => r.count))).toEqual(new Set(Array.from({ length: MAX }, (_, i) => i + 1)));
      expect(results.filter((r) => !r.granted).every((r) => r.count === MAX)).toBe(true);
      await Promise.all(granted.map((r) => r.node.release(IP)));
      expect(await a.acquire(IP)).toEqual({ granted: true, count: 1 });
    });

    it('releaseAll gives back every slot this node holds, and only those', async () => {
      const a = node('a');
      const b = node('b');
      await acquireN(a, IP, 3);
      await acquireN(a, '2001:db8::1', 2);
      await acquireN(b, IP, 2);
      await a.releaseAll();
      expect(await b.acquire(IP)).toEqual({ granted: true, count: 3 });
      expect(await b.acquire('2001:db8::1')).toEqual({ granted: true, count: 1 });
      expect(await a.acquire(IP)).toEqual({ granted: true, count: 4 });
      await a.release(IP);
      expect(await b.acquire(IP)).toEqual({ granted: true, count: 4 });
    });

    it('releaseAll right after releases still in flight ends at zero (a drain closes sockets, then releases all)', async () => {
      const a = node('a');
      const b = node('b');
      await acquireN(a, IP, 3);
      // Not awaited: a drain's close handlers release, and the shutdown calls releaseAll in the same turn.
      const released = [a.release(IP), a.release(IP)];
      await a.releaseAll();
      await Promise.all(released);
      await a.close();
      expect(await b.acquire(IP)).toEqual({ granted: true, count: 1 });
    });

    it(`frees the slots of a node that dies within leaseMs, while live nodes' slots persist`, async () => {
      const live = node('live', LEASE_MS);
      const dead = node('dead', LEASE_MS);
      await acquireN(live, IP, 4);
      await acquireN(dead, IP, 6);

      // Simulated kill -9: renewal stops and nothing is released.
      await dead.close();
      const killedAt = performance.now();
      expect(await live.acquire(IP)).toEqual({ granted: false, count: MAX });

      await eventually(async () => (await live.acquire(IP)).granted, LEASE_MS * 3);
      const freedAfter = performance.now() - killedAt;
      // The last renewal happened at most leaseMs/3 before the kill, so the
      // slots lapse between 2/3·leaseMs and leaseMs after it (margins for timers).
      expect(freedAfter).toBeLessThan(LEASE_MS + 250);
      expect(freedAfter).toBeGreaterThan(LEASE_MS / 3);

      // The live node (5 slots now) keeps them over several lease periods.
      await delay(LEASE_MS * 3);
      const other = node('other', LEASE_MS);
      await acquireN(other, IP, MAX - 5);
      expect(await other.acquire(IP)).toEqual({ granted: false, count: MAX });
    });

    it('re-establishes the count of a node whose lease lapsed, at its next renewal', async () => {
      const a = node('a', LEASE_MS);
      const b = node('b', LEASE_MS);
      await acquireN(a, IP, 4);
      await fixture.expireLeases('a');

      // Until a renews, its slots do not count (1 = b alone); a renewal may already have run (5).
      expect([1, 5]).toContain((await b.acquire(IP)).count);
      await eventually(async () => {
        const probe = await b.acquire(IP);
        if (probe.granted) await b.release(IP);
        return probe.count === 4 + 1 + 1;
      }, LEASE_MS);

      await acquireN(b, IP, MAX - 4 - 1);
      expect(await b.acquire(IP)).toEqual({ granted: false, count: MAX });
      expect(await a.acquire(IP)).toEqual({ granted: false, count: MAX });
    });

    it('close is idempotent and stops acquiring; releasing still works', async () => {
      const a = node('a');
      await acquireN(a, IP, 2);
      await Promise.all([a.close(), a.close()]);
      await a.close();
      await expect(a.acquire(IP)).rejects.toThrow(/closed/);
      await a.release(IP);
      await a.releaseAll();
      expect(await node('b').acquire(IP)).toEqual({ granted: true, count: 1 });
    });

    it('refuses invalid options and addresses', async () => {
      expect(() => fixture.limiter({ nodeId: '', maxPerIp: MAX, leaseMs: LEASE_MS })).toThrow(RangeError);
      expect(() => fixture.limiter({ nodeId: 'a#exp', maxPerIp: MAX, leaseMs: LEASE_MS })).toThrow(RangeError);
      expect(() => fixture.limiter({ nodeId: 'a', maxPerIp: 0, leaseMs: LEASE_MS })).toThrow(RangeError);
      expect(() => fixture.limiter({ nodeId: 'a', maxPerIp: 1.5, leaseMs: LEASE_MS })).toThrow(RangeError);
      expect(() => fixture.limiter({ nodeId: 'a', maxPerIp: MAX, leaseMs: 5 })).toThrow(RangeError);
      await expect(node('a').acquire('')).rejects.toThrow(TypeError);
    });
  });
}
