/** One node's hold on one IP. */
interface Lease {
  count: number;
  /** epoch ms on the state's clock */
  expiresAt: number;
}

export interface MemoryLimiterStateOptions {
  /** Clock (epoch ms) for leases; defaults to Date.now. */
  now?: () => number;
}

/**
 * The shared per-IP table of every MemoryConnectionLimiter of one process:
 * the in-memory counterpart of the Redis per-IP hashes, with the same lease
 * rules (lua/limiter-*.lua). Each method is synchronous, hence atomic.
 *
 * A node's slots count only while its lease is live; lapsed leases are
 * dropped lazily by the next acquire of that IP (or when their node writes).
 */
export class MemoryLimiterState {
  readonly #ips = new Map<string, Map<string, Lease>>();
  readonly #now: () => number;

  constructor(options: MemoryLimiterStateOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /**
   * Takes a slot for `nodeId` below `max` (see limiter-acquire.lua). `held` is
   * the node's own count, used only if its lease here has lapsed.
   */
  acquire(ip: string, nodeId: string, max: number, leaseMs: number, held: number): { granted: boolean; count: number } {
    const now = this.#now();
    const leases = this.#ips.get(ip);
    let others = 0;
    let own: number | null = null;
    if (leases) {
      for (const [node, lease] of leases) {
        if (lease.expiresAt <= now) leases.delete(node);
        else if (node === nodeId) own = lease.count;
        else others += lease.count;
      }
    }
    const current = own ?? held;
    if (others + current >= max) {
      this.#set(ip, nodeId, current, now + leaseMs);
      return { granted: false, count: others + current };
    }
    this.#set(ip, nodeId, current + 1, now + leaseMs);
    return { granted: true, count: others + current + 1 };
  }

  /** Gives back one slot (see limiter-release.lua); returns the node's count after. */
  release(ip: string, nodeId: string, leaseMs: number, heldAfter: number): number {
    const now = this.#now();
    const lease = this.#ips.get(ip)?.get(nodeId);
    const count = lease && lease.expiresAt > now ? lease.count - 1 : heldAfter;
    this.#set(ip, nodeId, count, now + leaseMs);
    return Math.max(0, count);
  }

  /** Sets the node's count for `ip` and refreshes its lease (0 removes it); see limiter-renew.lua. */
  renew(ip: string, nodeId: string, leaseMs: number, count: number): void {
    this.#set(ip, nodeId, count, this.#now() + leaseMs);
  }

  /**
   * Ends every lease of `nodeId` now, as if it had not renewed for leaseMs
   * (its slots are no longer counted). Fault tests use it to simulate a node
   * cut off from the shared state; nothing else should.
   */
  expireNode(nodeId: string): void {
    for (const [ip, leases] of this.#ips) {
      leases.delete(nodeId);
      if (leases.size === 0) this.#ips.delete(ip);
    }
  }

  #set(ip: string, nodeId: string, count: number, expiresAt: number): void {
    let leases = this.#ips.get(ip);
    if (count <= 0) {
      leases?.delete(nodeId);
      if (leases?.size === 0) this.#ips.delete(ip);
      return;
    }
    if (!leases) {
      leases = new Map();
      this.#ips.set(ip, leases);
    }
    leases.set(nodeId, { count, expiresAt });
  }
}
