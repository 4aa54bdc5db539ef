/**
 * Write coalescing: live events reach uWS at most once per `intervalMs`.
 *
 * uWS writes everything published to a client within one event-loop
 * iteration in ONE socket write. On a busy fan-out the kernel's cost per
 * write dominates (about 14 µs per write on the benchmark machine, whatever
 * its size), so handing uWS several events at once divides the gateway's CPU
 * per delivery by the number of events per write.
 *
 * Guarantees:
 * - An event arriving after a quiet interval (none delivered in the last
 *   `intervalMs`) is delivered at once: coalescing adds no latency to a
 *   quiet stream.
 * - Otherwise it waits for the next flush, at most `intervalMs` after the
 *   previous one: the added latency is bounded by `intervalMs`.
 * - Events are delivered in arrival order, each exactly once; flush() (on
 *   shutdown) delivers whatever is pending at once.
 * - `intervalMs` 0 delivers every event synchronously (no coalescing).
 */
export class WriteCoalescer<T> {
  private pending: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** performance.now() of the last delivery; -Infinity until the first. */
  private lastFlushAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly deliver: (items: readonly T[]) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(item: T): void {
    if (this.intervalMs === 0) {
      this.deliver([item]);
      return;
    }
    this.pending.push(item);
    if (this.timer !== null) return;
    const wait = this.lastFlushAt + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else {
      this.timer = setTimeout(() => this.flush(), wait);
      this.timer.unref();
    }
  }

  /** Delivers everything pending now, in order. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    this.lastFlushAt = this.now();
    this.deliver(items);
  }
}
