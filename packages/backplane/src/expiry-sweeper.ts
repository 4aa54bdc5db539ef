import type { Backplane } from './backplane.js';

export interface ExpirySweeperOptions {
  /** The backplane whose expired entities are removed and announced. */
  backplane: Pick<Backplane, 'sweepExpired'>;
  /** Pause between the end of one sweep and the start of the next, ms. Default 1000. */
  intervalMs?: number;
  /** A sweep failed (e.g. Redis unreachable); the sweeper keeps its schedule. Must not throw. */
  onError?: (error: unknown) => void;
  /** A sweep completed, having published `removed` removal events. Must not throw. */
  onSwept?: (removed: number) => void;
}

export const DEFAULT_EXPIRY_SWEEP_INTERVAL_MS = 1_000;

/**
 * Runs backplane.sweepExpired() periodically. Publishers and gateways may all
 * run one against the same backplane: the sweep is exactly-once per expired
 * entity whatever the number of sweepers, so running several only bounds the
 * announcement lag (≈ intervalMs + sweep time after the TTL) while any one is
 * alive. Sweeps never overlap (the next is scheduled when one ends); the
 * timer is unref'd, so a sweeper never keeps a process alive.
 */
export class ExpirySweeper {
  readonly #sweep: () => Promise<number>;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #onSwept: (removed: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #started = false;

  constructor(options: ExpirySweeperOptions) {
    const intervalMs = options.intervalMs ?? DEFAULT_EXPIRY_SWEEP_INTERVAL_MS;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`ExpirySweeper: intervalMs must be > 0, got ${intervalMs}`);
    }
    const { backplane } = options;
    this.#sweep = () => backplane.sweepExpired();
    this.#intervalMs = intervalMs;
    this.#onError = options.onError ?? (() => {});
    this.#onSwept = options.onSwept ?? (() => {});
  }

  /** Schedules the first sweep after intervalMs, then one intervalMs after each ends. Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule();
  }

  /** Cancels the schedule and waits for a sweep in progress to end. Idempotent; start() may follow. */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(): void {
    if (!this.#started || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#runOnce().finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #runOnce(): Promise<void> {
    try {
      const removed = await this.#sweep();
      safely(() => this.#onSwept(removed));
    } catch (error) {
      safely(() => this.#onError(error));
    }
  }
}

function safely(call: () => void): void {
  try {
    call();
  } catch {
    // A callback broke its contract; the schedule must survive it.
  }
}
