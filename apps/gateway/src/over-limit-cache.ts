import { ExpiringMap } from '@hydra/throttle';

/** Longest a refusal is remembered; also bounded by a tenth of the limiter lease (see `ttlFor`). */
export const OVER_LIMIT_CACHE_MAX_TTL_MS = 1000;
const DEFAULT_MAX_ENTRIES = 100_000;

interface Refusal {
  /** The refusal is fresh until then. */
  until: number;
  /** Fresh no longer, and one upgrade is asking the limiter again. */
  probing: boolean;
}

/**
 * Per-node memory of client IPs the cluster-wide limiter refused recently, so
 * a flood of upgrades from an IP at its limit is answered 429 without a
 * Redis round trip.
 *
 * Cost: a refusal is reused for `ttlMs`; then one upgrade of the IP asks the
 * limiter again while the others are still refused from memory until its
 * answer comes (for at most another `ttlMs`). So a flood from an IP at its
 * limit costs one limiter call per `ttlMs` per gateway, whatever its rate
 * (plus, on first contact, the calls already in flight when the first
 * refusal comes back).
 *
 * Guarantees: the cache only ever refuses, never grants (the limiter stays
 * authoritative for every slot); a grant, or a slot released on this node,
 * forgets the IP at once; a slot freed on another replica is seen here at
 * most 2 × `ttlMs` late. Memory is bounded by `maxEntries` (oldest first out).
 */
export class OverLimitCache {
  private readonly refused: ExpiringMap<string, Refusal>;

  constructor(private readonly options: { ttlMs: number; maxEntries?: number }) {
    this.refused = new ExpiringMap(options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  }

  /**
   * The TTL for a limiter lease: 1 s, or a tenth of the lease when that is
   * shorter, so a cached refusal never stretches the documented bound in
   * which the slots of a killed gateway free themselves by more than 20 %.
   */
  static ttlFor(limiterLeaseMs: number): number {
    return Math.min(OVER_LIMIT_CACHE_MAX_TTL_MS, Math.floor(limiterLeaseMs / 10));
  }

  /** True: refuse `ip` without asking the limiter. False: ask it (and report with `onDecision`). */
  isOverLimit(ip: string, now: number): boolean {
    if (this.options.ttlMs <= 0) return false;
    const refusal = this.refused.get(ip, now);
    if (refusal === undefined) return false;
    if (now < refusal.until || refusal.probing) return true;
    refusal.probing = true;
    return false;
  }

  /** The limiter's answer for `ip` at `now`. */
  onDecision(ip: string, granted: boolean, now: number): void {
    if (granted || this.options.ttlMs <= 0) this.refused.delete(ip);
    else this.refused.set(ip, { until: now + this.options.ttlMs, probing: false }, now + 2 * this.options.ttlMs);
  }

  /** A slot of `ip` was released on this node: the next upgrade asks the limiter again. */
  onRelease(ip: string): void {
    this.refused.delete(ip);
  }

  sweep(now: number): void {
    this.refused.sweep(now);
  }
}
