/**
 * Cluster-wide cap on concurrent connections per client IP (guarantee 2).
 *
 * Each gateway node holds its own slots; a node that dies without releasing
 * them loses them after at most `leaseMs` (its lease on each IP stops being
 * renewed), so a crash never strands slots for longer than that bound.
 */
export interface ConnectionLimiter {
  /**
   * Takes one slot for `ip` on this node if the cluster-wide count is below
   * the limit, atomically. `count` is the cluster-wide count after the decision.
   */
  acquire(ip: string): Promise<{ granted: boolean; count: number }>;
  /** Gives back one slot of `ip` taken by this node. */
  release(ip: string): Promise<void>;
  /** Gives back every slot this node holds (drain). */
  releaseAll(): Promise<void>;
  /** Stops lease renewal. Does not release slots (releaseAll does). Idempotent. */
  close(): Promise<void>;
}

export interface ConnectionLimiterOptions {
  /** This node's unique id (one per gateway process). */
  nodeId: string;
  /** Max concurrent connections per IP across all nodes. */
  maxPerIp: number;
  /** How long a node's slots survive without renewal. Renewal runs every leaseMs/3. */
  leaseMs: number;
}
