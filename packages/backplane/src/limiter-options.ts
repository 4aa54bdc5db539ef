import type { ConnectionLimiterOptions } from './connection-limiter.js';

/** Shortest accepted lease: renewal runs every leaseMs/3 and must stay well above timer jitter. */
export const MIN_LEASE_MS = 30;

/**
 * Checks limiter options once, at construction, for every implementation.
 * `nodeId` may not contain `#`: the per-IP hash reserves `<nodeId>#exp`.
 */
export function validateLimiterOptions(options: ConnectionLimiterOptions): Readonly<ConnectionLimiterOptions> {
  const { nodeId, maxPerIp, leaseMs } = options;
  if (typeof nodeId !== 'string' || nodeId === '' || nodeId.includes('#')) {
    throw new RangeError('limiter nodeId must be a non-empty string without "#"');
  }
  if (!Number.isSafeInteger(maxPerIp) || maxPerIp < 1) {
    throw new RangeError('limiter maxPerIp must be a positive integer');
  }
  if (!Number.isSafeInteger(leaseMs) || leaseMs < MIN_LEASE_MS) {
    throw new RangeError(`limiter leaseMs must be an integer >= ${MIN_LEASE_MS}`);
  }
  return Object.freeze({ nodeId, maxPerIp, leaseMs });
}

export function assertIp(ip: string): void {
  if (typeof ip !== 'string' || ip === '') throw new TypeError('limiter ip must be a non-empty string');
}

/** How often a limiter renews its leases: three chances before a lease lapses. */
export function renewIntervalMs(leaseMs: number): number {
  return Math.max(1, Math.floor(leaseMs / 3));
}
