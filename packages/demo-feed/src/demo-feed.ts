import type { EventPublisher } from '@hydra/backplane';
import { DemoWorld, type DemoWorldOptions } from './demo-world.js';

export interface DemoFeedOptions extends Omit<DemoWorldOptions, 'startTs'> {
  /** Wall clock, epoch ms (default Date.now). The world starts at `now()` and follows it. */
  now?: () => number;
}

export interface DemoFeedStartOptions {
  /** How often the world is advanced and its events published as one batch (ms, default 250). */
  intervalMs?: number;
  /**
   * Longest span of world time published in one batch (ms, default 5000).
   * After a longer stall (a suspended laptop, a blocked event loop) the world
   * skips ahead silently instead of publishing a huge backlog.
   */
  maxBatchSpanMs?: number;
  /**
   * Called once per failed batch (so at most once per interval) with the
   * error; the feed keeps running. Failures are also counted in stats().
   */
  onError?: (err: unknown, info: { events: number }) => void;
}

export interface DemoFeedStats {
  /** Batches handed to the publisher. */
  batches: number;
  /** Events the publisher confirmed. */
  published: number;
  /** Batches the publisher rejected. */
  publishErrors: number;
  /** Events lost: in a rejected batch, or generated while the previous batch was still in flight. */
  dropped: number;
}

export interface DemoFeed {
  /** The simulated world (its clock follows the wall clock once started). */
  readonly world: DemoWorld;
  /**
   * Starts publishing: every `intervalMs` the world advances to the wall
   * clock and its events go to `publisher.publish` in one batch. At most
   * one batch is in flight; the timer is unref'd. Throws if already started.
   */
  start(publisher: EventPublisher, options?: DemoFeedStartOptions): void;
  /** Stops the timer and waits for the batch in flight. Idempotent. */
  stop(): Promise<void>;
  stats(): DemoFeedStats;
}

const DEFAULT_INTERVAL_MS = 250;
const DEFAULT_MAX_BATCH_SPAN_MS = 5_000;

/**
 * The demo feed: a DemoWorld driven by a timer and published through an
 * EventPublisher (the in-memory or the Redis backplane alike). A failing
 * publisher never crashes it: failures are counted and reported to `onError`.
 */
export function createDemoFeed(options: DemoFeedOptions): DemoFeed {
  const { now = Date.now, ...worldOptions } = options;
  return new TimedDemoFeed(new DemoWorld({ ...worldOptions, startTs: now() }), now);
}

class TimedDemoFeed implements DemoFeed {
  readonly world: DemoWorld;
  readonly #now: () => number;
  readonly #stats: DemoFeedStats = { batches: 0, published: 0, publishErrors: 0, dropped: 0 };
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #started = false;
  #stopping: Promise<void> | undefined;

  constructor(world: DemoWorld, now: () => number) {
    this.world = world;
    this.#now = now;
  }

  start(publisher: EventPublisher, options: DemoFeedStartOptions = {}): void {
    if (this.#started) throw new Error('demo feed: already started');
    this.#started = true;
    const intervalMs = positive('intervalMs', options.intervalMs ?? DEFAULT_INTERVAL_MS);
    const maxSpanMs = positive('maxBatchSpanMs', options.maxBatchSpanMs ?? DEFAULT_MAX_BATCH_SPAN_MS);
    const callback = options.onError;
    const onError = (err: unknown, info: { events: number }): void => {
      try {
        callback?.(err, info);
      } catch {
        // A throwing error callback must not stop the feed.
      }
    };
    this.#timer = setInterval(() => this.#step(publisher, maxSpanMs, onError), intervalMs);
    this.#timer.unref();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#timer);
      this.#timer = undefined;
      await this.#inFlight;
    })();
    return this.#stopping;
  }

  stats(): DemoFeedStats {
    return { ...this.#stats };
  }

  #step(publisher: EventPublisher, maxSpanMs: number, onError: NonNullable<DemoFeedStartOptions['onError']>): void {
    if (this.#stopping !== undefined) return;
    let events: ReturnType<DemoWorld['tick']>;
    try {
      const elapsed = Math.max(0, this.#now() - this.world.now);
      if (elapsed > maxSpanMs) this.world.skip(elapsed - maxSpanMs);
      events = this.world.tick(Math.min(elapsed, maxSpanMs));
    } catch (err) {
      onError(err, { events: 0 });
      return;
    }
    if (events.length === 0) return;
    if (this.#inFlight !== undefined) {
      // The backplane is slower than the feed: drop rather than queue without bound.
      this.#stats.dropped += events.length;
      return;
    }
    this.#stats.batches++;
    this.#inFlight = Promise.resolve()
      .then(() => publisher.publish(events))
      .then(
        (published) => {
          this.#stats.published += published.length;
        },
        (err: unknown) => {
          this.#stats.publishErrors++;
          this.#stats.dropped += events.length;
          onError(err, { events: events.length });
        },
      )
      .finally(() => {
        this.#inFlight = undefined;
      });
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`demo feed: ${name} must be > 0 ms, got ${value}`);
  return value;
}
