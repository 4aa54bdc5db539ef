import { isIPv4, isIPv6 } from 'node:net';
import { ExpiringMap } from './expiring-map.js';

const DEFAULT_MAX_ENTRIES = 100_000;

export interface AuthThrottleOptions {
  /** Failed authentications from one source within `windowMs` that start a cool-down; 0 turns the throttle off. */
  failureLimit: number;
  /** Length of the counting window, and of the cool-down that follows the limit. */
  windowMs: number;
  /** Sources tracked at once (oldest first out). */
  maxEntries?: number;
}

interface SourceState {
  failures: number;
  windowStart: number;
  /** 0 while counting; the end of the cool-down once the limit was reached. */
  blockedUntil: number;
}

/**
 * Per-node throttle of failed authentications: at the gateway unknown,
 * revoked, expired or malformed API keys, at the publisher wrong ingest bearer
 * tokens (ingest-server.ts); a missing key or header is not a guess and does
 * not count.
 *
 * Policy: a source that fails `failureLimit` times within a fixed window of
 * `windowMs` is in a cool-down for the next `windowMs`. What the caller
 * refuses in it: at the gateway every upgrade whose key would need a
 * key-store read — valid keys included — cheaply (HTTP 429 before any lookup
 * or Redis command), keys decided without Redis (missing, malformed, cached)
 * being answered as usual (admission.ts); at the publisher every ingest
 * request, before its token is checked (so a guess in the cool-down learns nothing).
 * The cool-down is not extended by attempts made during it, so a client
 * sharing an address with an attacker gets back in after at most one
 * cool-down once the attack stops. A source is an IPv4 address or an IPv6
 * /64 (one subscriber's usual allocation, so rotating addresses inside it
 * does not escape the count). Counts are per process: behind a load balancer
 * a source gets at most replicas × `failureLimit` guesses per window.
 * Memory is bounded by `maxEntries`.
 */
export class AuthThrottle {
  private readonly sources: ExpiringMap<string, SourceState>;

  constructor(private readonly options: AuthThrottleOptions) {
    this.sources = new ExpiringMap(options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  }

  /** Milliseconds until `ip` may try again (0: not throttled). */
  retryAfterMs(ip: string, now: number): number {
    if (this.options.failureLimit <= 0) return 0;
    const state = this.sources.get(throttleSource(ip), now);
    return state !== undefined && state.blockedUntil > now ? state.blockedUntil - now : 0;
  }

  /** Counts one failed authentication from `ip`; true when it starts a cool-down. */
  recordFailure(ip: string, now: number): boolean {
    const { failureLimit, windowMs } = this.options;
    if (failureLimit <= 0) return false;
    const source = throttleSource(ip);
    const state = this.sources.get(source, now) ?? { failures: 0, windowStart: now, blockedUntil: 0 };
    if (state.blockedUntil > now) return false;
    state.failures++;
    if (state.failures >= failureLimit) {
      state.blockedUntil = now + windowMs;
      this.sources.set(source, state, state.blockedUntil);
      return true;
    }
    this.sources.set(source, state, state.windowStart + windowMs);
    return false;
  }

  /** Drops expired state; returns how many sources are in a cool-down at `now`. */
  sweep(now: number): number {
    let blocked = 0;
    this.sources.sweep(now, (state) => {
      if (state.blockedUntil > now) blocked++;
    });
    return blocked;
  }
}

/**
 * The unit the throttle counts: an IPv4 address as is (also when a dual-stack
 * socket reports it IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by its /64 prefix.
 */
export function throttleSource(ip: string): string {
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return mapped;
  const groups = expandIpv6(ip);
  return groups === null ? ip : `${groups.slice(0, 4).join(':')}::/64`;
}

/** Eight 16-bit groups (hex, no leading zeros) of a valid IPv6 address, zone id ignored. */
function expandIpv6(ip: string): string[] | null {
  let text = ip.toLowerCase().split('%', 1)[0] ?? '';
  const v4Tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4Tail) {
    const [a, b, c, d] = v4Tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  if (groups.length !== 8) return null;
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}
