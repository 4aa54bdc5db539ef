import type { ConnectionLimiter, ConnectionLimiterOptions } from './connection-limiter.js';
import { assertIp, renewIntervalMs, validateLimiterOptions } from './limiter-options.js';
import type { MemoryLimiterState } from './memory-limiter-state.js';

export { MemoryLimiterState } from './memory-limiter-state.js';

/**
 * ConnectionLimiter for one process: several limiters (nodes) share one
 * MemoryLimiterState, with the same semantics as RedisConnectionLimiter,
 * leases included. A limiter closed without releaseAll() behaves like a node
 * that died: its slots stop counting at most `leaseMs` after its last
 * renewal (renewals run every leaseMs/3), so within `leaseMs` of close().
 * Renewals send this node's exact count (operations are synchronous), which
 * re-establishes a lease that lapsed.
 */
export class MemoryConnectionLimiter implements ConnectionLimiter {
  readonly #state: MemoryLimiterState;
  readonly #options: Readonly<ConnectionLimiterOptions>;
  readonly #held = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(state: MemoryLimiterState, options: ConnectionLimiterOptions) {
    this.#state = state;
    this.#options = validateLimiterOptions(options);
    this.#timer = setInterval(() => this.#renewAll(), renewIntervalMs(this.#options.leaseMs));
    this.#timer.unref();
  }

  async acquire(ip: string): Promise<{ granted: boolean; count: number }> {
    assertIp(ip);
    if (this.#closed) throw new Error('connection limiter is closed');
    const { nodeId, maxPerIp, leaseMs } = this.#options;
    const held = this.#held.get(ip) ?? 0;
    const result = this.#state.acquire(ip, nodeId, maxPerIp, leaseMs, held);
    if (result.granted) this.#held.set(ip, held + 1);
    return result;
  }

  async release(ip: string): Promise<void> {
    const held = this.#held.get(ip) ?? 0;
    if (held === 0) return;
    if (held === 1) this.#held.delete(ip);
    else this.#held.set(ip, held - 1);
    this.#state.release(ip, this.#options.nodeId, this.#options.leaseMs, held - 1);
  }

  async releaseAll(): Promise<void> {
    for (const ip of this.#held.keys()) this.#state.renew(ip, this.#options.nodeId, this.#options.leaseMs, 0);
    this.#held.clear();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  #renewAll(): void {
    for (const [ip, count] of this.#held) this.#state.renew(ip, this.#options.nodeId, this.#options.leaseMs, count);
  }
}
