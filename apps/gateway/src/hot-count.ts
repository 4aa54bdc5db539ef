import type { Counter } from 'prom-client';

/**
 * One label set of a prom-client counter incremented on a per-event path.
 * prom-client hashes and validates the labels on every `inc`, even through a
 * bound `labels(...)` child (0.3–0.5 µs each, several per event); a HotCount
 * sums its increments in a number instead and adds them to the counter when
 * the counter is read (`flushHotCounts`, the counter's `collect`).
 *
 * Guarantee: a read of the counter (a scrape, `get()`) includes every
 * increment made before it, provided the counter was created with
 * `collect: flushHotCounts`.
 */
export class HotCount {
  #pending = 0;

  constructor(
    private readonly counter: Counter<string>,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    let counts = hotCounts.get(counter);
    if (counts === undefined) {
      counts = [];
      hotCounts.set(counter, counts);
    }
    counts.push(this);
  }

  inc(by = 1): void {
    this.#pending += by;
  }

  /** Adds the pending increments to the counter. */
  flush(): void {
    if (this.#pending === 0) return;
    this.counter.inc(this.labels, this.#pending);
    this.#pending = 0;
  }
}

const hotCounts = new WeakMap<Counter<string>, HotCount[]>();

/** A counter's `collect` (prom-client calls it with the counter as `this` before each read): its HotCounts flushed. */
export function flushHotCounts(this: Counter<string>): void {
  const counts = hotCounts.get(this);
  if (counts !== undefined) for (const count of counts) count.flush();
}
