import type { ConnectionLimiter } from '@hydra/backplane';

export interface FallbackLimiterOptions {
  /** HYDRA_MAX_CONNECTIONS_PER_IP: while Redis is gone, the cap per IP on this node alone. */
  maxPerIp: number;
  /** The backplane's health: while false, decisions are local at once (no wait on a dead connection). */
  isHealthy: () => boolean;
  /** How often slots granted locally are re-acquired in Redis once it is back (default 1 s). */
  reconcileIntervalMs?: number;
  /** Each local decision (Redis unreachable), for metrics. Must not throw. */
  onLocalDecision?: (granted: boolean) => void;
}

/**
 * The per-IP limiter with a documented degraded mode (guarantee 2 while Redis
 * is gone).
 *
 * Normal: every decision is the inner (Redis) limiter's, cluster-wide.
 *
 * Redis unreachable (the backplane reports unhealthy, or the inner call
 * fails): the decision is taken locally against the same cap, counting only
 * this node's connections of the IP (those granted through Redis and those
 * granted locally). Cluster-wide the bound is therefore
 * `HYDRA_MAX_CONNECTIONS_PER_IP × replicas` per IP while Redis is down.
 * Locally granted slots are released locally.
 *
 * Reconciliation: once Redis is back, each locally granted slot still open is
 * re-acquired in Redis (every `reconcileIntervalMs`) and from then on counts
 * cluster-wide like any other. When the IP is at its cluster-wide limit the
 * re-acquire is refused and retried on the next round: until it succeeds or
 * the connection closes, the IP can exceed the cap by at most the slots this
 * node granted locally. (Slots granted through Redis need nothing: the inner
 * limiter's lease renewal re-writes this node's exact count, even into a
 * Redis restarted empty.)
 */
export class FallbackConnectionLimiter implements ConnectionLimiter {
  /** Slots of each IP this node holds through the inner limiter. */
  readonly #viaInner = new Map<string, number>();
  /** Slots of each IP granted locally while Redis was unreachable (not counted in Redis). */
  readonly #local = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;
  #reconciling: Promise<void> | null = null;
  #closed = false;

  constructor(
    private readonly inner: ConnectionLimiter,
    private readonly options: FallbackLimiterOptions,
  ) {
    this.#timer = setInterval(() => this.reconcile(), options.reconcileIntervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Open slots granted locally and not yet counted in Redis. */
  get localSlots(): number {
    let n = 0;
    for (const c of this.#local.values()) n += c;
    return n;
  }

  async acquire(ip: string): Promise<{ granted: boolean; count: number }> {
    if (this.options.isHealthy()) {
      try {
        const decision = await this.inner.acquire(ip);
        if (decision.granted) bump(this.#viaInner, ip, 1);
        return decision;
      } catch {
        // Redis went away under the call: decide locally.
      }
    }
    if (this.#closed) throw new Error('connection limiter is closed');
    const held = (this.#viaInner.get(ip) ?? 0) + (this.#local.get(ip) ?? 0);
    const granted = held < this.options.maxPerIp;
    if (granted) bump(this.#local, ip, 1);
    this.options.onLocalDecision?.(granted);
    return { granted, count: granted ? held + 1 : held };
  }

  /** A local slot of the IP goes first (slots are interchangeable): Redis never over-counts this node. */
  async release(ip: string): Promise<void> {
    if ((this.#local.get(ip) ?? 0) > 0) {
      bump(this.#local, ip, -1);
      return;
    }
    if ((this.#viaInner.get(ip) ?? 0) === 0) return;
    bump(this.#viaInner, ip, -1);
    await this.inner.release(ip);
  }

  async releaseAll(): Promise<void> {
    this.#local.clear();
    this.#viaInner.clear();
    await this.inner.releaseAll();
  }

  close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    return this.inner.close();
  }

  /** One reconciliation round (skipped while one runs, or while Redis is still unreachable). */
  reconcile(): Promise<void> {
    if (this.#reconciling || this.#closed || this.#local.size === 0 || !this.options.isHealthy()) {
      return this.#reconciling ?? Promise.resolve();
    }
    this.#reconciling = this.#reconcileRound().finally(() => {
      this.#reconciling = null;
    });
    return this.#reconciling;
  }

  async #reconcileRound(): Promise<void> {
    for (const ip of [...this.#local.keys()]) {
      while ((this.#local.get(ip) ?? 0) > 0 && !this.#closed) {
        let granted: boolean;
        try {
          granted = (await this.inner.acquire(ip)).granted;
        } catch {
          return; // Redis went away again: next round
        }
        if (!granted) break; // the IP is at its cluster-wide limit: retry next round
        if ((this.#local.get(ip) ?? 0) > 0) {
          bump(this.#local, ip, -1);
          bump(this.#viaInner, ip, 1);
        } else {
          // The local connection closed while the slot was being re-acquired: give it back.
          await this.inner.release(ip).catch(() => undefined);
        }
      }
    }
  }
}

function bump(map: Map<string, number>, ip: string, by: number): void {
  const next = (map.get(ip) ?? 0) + by;
  if (next > 0) map.set(ip, next);
  else map.delete(ip);
}
