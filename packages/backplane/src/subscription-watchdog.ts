import type { Scope } from '@hydra/protocol';

export interface SubscriptionWatchdogOptions {
  /** How often Redis' seqs are read; a silent subscription is caught within two of these. */
  intervalMs: number;
  /** Each scope's last assigned seq in Redis (0 for a scope never published). Rejects when Redis is away. */
  readSeqs(): Promise<ReadonlyMap<Scope, number>>;
  /** Scopes whose seq grew in Redis a whole interval ago and whose events never arrived. Must not throw. */
  onSilent(scopes: readonly Scope[]): void;
}

/**
 * Catches a subscription that is silent while its scope moves on: a
 * subscriber connection that thinks it is subscribed but is not (ioredis#1759,
 * a sharded subscriber killed and reconnected without the bus being told,
 * centrifugo#1189), which pub/sub itself never reports.
 *
 * Every interval it reads each scope's seq in Redis. A seq read at one check
 * that is still above the highest seq delivered at the next check means events
 * that existed in Redis for a whole interval never arrived: the scope is
 * reported silent. In-flight events cannot trip it (they arrive within
 * milliseconds, the interval is seconds). After a report, or at the first
 * check, what Redis holds is taken as the new baseline: the owner resubscribes
 * and re-primes, which catches its clients up from history or resyncs them.
 * A seq that went back (Redis restarted empty, a failover lost writes) lowers
 * the baseline: that is the gateway's stream-reset case, not silence.
 */
export class SubscriptionWatchdog {
  readonly #options: SubscriptionWatchdogOptions;
  /** Highest seq delivered per scope (or the baseline taken from Redis). */
  readonly #delivered = new Map<Scope, number>();
  /** Redis' seqs at the previous check; undefined before the first one and after a report. */
  #previous: ReadonlyMap<Scope, number> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  #stopped = false;

  constructor(options: SubscriptionWatchdogOptions) {
    this.#options = options;
  }

  /** An event of `scope` with `seq` arrived over the subscription. */
  delivered(scope: Scope, seq: number): void {
    if (seq > (this.#delivered.get(scope) ?? 0)) this.#delivered.set(scope, seq);
  }

  /**
   * Starts checking (idempotent). The first check, at once, only takes the
   * baseline: what Redis holds when the subscription starts was never going
   * to be delivered over it.
   */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#stopped = false;
    this.#previous = undefined;
    this.#timer = setInterval(() => void this.check(), this.#options.intervalMs);
    this.#timer.unref();
    void this.check();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One check (the timer's; tests call it directly). Never rejects. */
  async check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const current = await this.#options.readSeqs();
      if (this.#stopped) return;
      const previous = this.#previous;
      const silent: Scope[] = [];
      if (previous !== undefined) {
        for (const [scope, seq] of previous) {
          if (seq > (this.#delivered.get(scope) ?? 0)) silent.push(scope);
        }
      }
      for (const [scope, seq] of current) {
        const delivered = this.#delivered.get(scope);
        // Baseline at the first check and after a report; follow a seq that went back.
        if (previous === undefined || silent.length > 0 || delivered === undefined || seq < delivered) {
          this.#delivered.set(scope, Math.max(seq, previous === undefined ? (delivered ?? 0) : 0));
        }
      }
      this.#previous = silent.length > 0 ? undefined : current;
      if (silent.length > 0) this.#options.onSilent(silent);
    } catch {
      // Redis away: the connections' own reconnect and onSubscribed cover that; check again next time.
      this.#previous = undefined;
    } finally {
      this.#checking = false;
    }
  }
}
