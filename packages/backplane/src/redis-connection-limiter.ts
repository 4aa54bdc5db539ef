import { readFileSync } from 'node:fs';
import type { ConnectionLimiter, ConnectionLimiterOptions } from './connection-limiter.js';
import { assertIp, renewIntervalMs, validateLimiterOptions } from './limiter-options.js';
import { execRouted, type RedisClient, type RoutedCommand } from './redis-connections.js';
import { redisKeys } from './redis-keys.js';
import { TurnPipeline } from './turn-pipeline.js';

export interface RedisConnectionLimiterOptions extends ConnectionLimiterOptions {
  /** Called when a renewal round fails (RedisClient unreachable): count and log it. Must not throw. */
  onRenewError?: (err: Error) => void;
}

const lua = (name: string) => readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');
const ACQUIRE = 'hydraLimiterAcquire';
const RELEASE = 'hydraLimiterRelease';
const RENEW = 'hydraLimiterRenew';
const SCRIPTS = [
  [ACQUIRE, lua('limiter-acquire')],
  [RELEASE, lua('limiter-release')],
  [RENEW, lua('limiter-renew')],
] as const;
/** IPs renewed or released per pipeline round trip. */
const BATCH = 500;

/** This node's view of one IP: slots it holds, and its acquire/release calls still in flight. */
interface Held {
  count: number;
  pending: number;
}

/**
 * ConnectionLimiter on Redis (guarantee 2).
 *
 * Data: one HASH per client IP (`redisKeys.ipConnections(ip)`, IPv6 and
 * IPv4-mapped addresses used as given), field `<nodeId>` = the slots that
 * node holds, `<nodeId>#exp` = its lease expiry on Redis's clock. Each
 * connect runs ONE script (lua/limiter-acquire.lua) that drops lapsed nodes,
 * sums the live counts and takes a slot only below `maxPerIp`: atomic across
 * all nodes, O(nodes holding this IP), independent of connection count.
 *
 * Leases: every `leaseMs/3` the node renews, in pipelined batches, every IP
 * it holds slots of. A node that dies (kill -9, OOM, lost host) stops renewing;
 * its slots stop counting once its lease expires, i.e. **at most `leaseMs`
 * after its last renewal reached Redis** — so within `leaseMs` of its death
 * (and not before about 2/3·leaseMs after it, the renewal slack). Its fields
 * are deleted by the next acquire of that IP or, at the latest, with the
 * key's own TTL (every write sets it to the newest lease).
 *
 * The node keeps its own count per IP (the truth for this node). A renewal
 * sends that count whenever no acquire/release of the IP is in flight (so it
 * is exact), which re-establishes a lease that lapsed while the node was cut
 * off from Redis and heals drift (e.g. a script that ran but whose reply was
 * lost). While the lease had lapsed, other nodes could admit up to the
 * limit, so after re-establishment an IP can briefly exceed `maxPerIp`;
 * no new connection is admitted until it is back under.
 *
 * `release()` of an IP this node holds no slot of is a no-op, so a double
 * release cannot free another node's slot.
 */
export class RedisConnectionLimiter implements ConnectionLimiter {
  readonly #redis: RedisClient;
  /** Acquires and releases of one event-loop turn go out as one pipeline (a connect storm's). */
  readonly #pipeline: TurnPipeline;
  readonly #options: Readonly<ConnectionLimiterOptions>;
  readonly #onRenewError: ((err: Error) => void) | undefined;
  readonly #held = new Map<string, Held>();
  readonly #timer: NodeJS.Timeout;
  #renewing: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  constructor(redis: RedisClient, options: RedisConnectionLimiterOptions) {
    this.#options = validateLimiterOptions(options);
    this.#onRenewError = options.onRenewError;
    this.#redis = redis;
    for (const [name, source] of SCRIPTS) redis.defineCommand(name, { numberOfKeys: 1, lua: source });
    this.#pipeline = new TurnPipeline(redis);
    this.#timer = setInterval(() => this.#renewRound(), renewIntervalMs(this.#options.leaseMs));
    this.#timer.unref();
  }

  async acquire(ip: string): Promise<{ granted: boolean; count: number }> {
    assertIp(ip);
    if (this.#closing) throw new Error('connection limiter is closed');
    const { nodeId, maxPerIp, leaseMs } = this.#options;
    const entry = this.#entry(ip);
    entry.pending += 1;
    try {
      const key = redisKeys.ipConnections(ip);
      const [granted, count] = (await this.#pipeline.send({
        key,
        command: [ACQUIRE, key, nodeId, maxPerIp, leaseMs, entry.count],
      })) as [number, number];
      if (granted === 1) entry.count += 1;
      return { granted: granted === 1, count };
    } finally {
      entry.pending -= 1;
      this.#prune(ip, entry);
    }
  }

  /**
   * The slot is given up locally at once. If Redis cannot be reached this
   * rejects, and Redis catches up at the next renewal (or the lease lapses).
   */
  async release(ip: string): Promise<void> {
    const entry = this.#held.get(ip);
    if (!entry || entry.count === 0) return;
    entry.count -= 1;
    entry.pending += 1;
    try {
      const key = redisKeys.ipConnections(ip);
      await this.#pipeline.send({
        key,
        command: [RELEASE, key, this.#options.nodeId, this.#options.leaseMs, entry.count],
      });
    } finally {
      entry.pending -= 1;
      this.#prune(ip, entry);
    }
  }

  async releaseAll(): Promise<void> {
    // Releases still queued for this turn go out first: one landing after the zeroing below would
    // restore its `heldAfter` count and keep the slots (a drain closes sockets, then calls this).
    const queued = this.#pipeline.flush();
    const ips: string[] = [];
    for (const [ip, entry] of this.#held) {
      if (entry.count === 0) continue;
      entry.count = 0;
      ips.push(ip);
      this.#prune(ip, entry);
    }
    const failure = await this.#renewBatches(ips.map((ip) => [ip, 0] as const));
    await queued.catch(() => undefined); // each release reports its own failure to its caller
    if (failure) throw failure;
  }

  /** Also waits for acquires and releases already sent, so the connection can be closed after it. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      await Promise.all([this.#renewing, this.#pipeline.flush().catch(() => undefined)]);
    })();
    return this.#closing;
  }

  #entry(ip: string): Held {
    let entry = this.#held.get(ip);
    if (!entry) {
      entry = { count: 0, pending: 0 };
      this.#held.set(ip, entry);
    }
    return entry;
  }

  #prune(ip: string, entry: Held): void {
    if (entry.count === 0 && entry.pending === 0 && this.#held.get(ip) === entry) this.#held.delete(ip);
  }

  /** One renewal round; skipped if the previous one is still running. */
  #renewRound(): void {
    if (this.#renewing || this.#closing) return;
    const work: (readonly [string, number])[] = [];
    for (const [ip, entry] of this.#held) {
      if (entry.count > 0) work.push([ip, entry.pending > 0 ? -1 : entry.count]);
    }
    if (work.length === 0) return;
    this.#renewing = this.#renewBatches(work).then((failure) => {
      this.#renewing = null;
      if (failure) this.#onRenewError?.(failure);
    });
  }

  /** Runs limiter-renew.lua for each (ip, count); resolves with the first failure, if any. */
  async #renewBatches(work: readonly (readonly [string, number])[]): Promise<Error | null> {
    const { nodeId, leaseMs } = this.#options;
    let failure: Error | null = null;
    for (let start = 0; start < work.length; start += BATCH) {
      const commands = work.slice(start, start + BATCH).map(([ip, count]): RoutedCommand => {
        const key = redisKeys.ipConnections(ip);
        return { key, command: [RENEW, key, nodeId, leaseMs, count] };
      });
      try {
        const results = await execRouted(this.#redis, commands);
        failure ??= results.find(([err]) => err !== null)?.[0] ?? null;
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    return failure;
  }
}
