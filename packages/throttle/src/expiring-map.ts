/**
 * A map whose entries expire, with a hard cap on its size: memory stays
 * bounded whatever the input (a flood of distinct client addresses evicts the
 * oldest entries first, never grows the map). Time is passed in by the caller,
 * so the owner decides the clock and tests need none.
 */
export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, { value: V; until: number }>();

  constructor(private readonly maxEntries: number) {
    if (!(maxEntries >= 1)) throw new Error('ExpiringMap needs room for at least one entry');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The live value of `key` at `now`; an expired entry is dropped on the way. */
  get(key: K, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores `value` until `until` (epoch ms); at the cap, the oldest-written entry makes room. */
  set(key: K, value: V, until: number): void {
    // Re-inserting moves the key to the newest end, so eviction order is write order.
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, until });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Drops every entry expired at `now` and visits the live ones. O(size). */
  sweep(now: number, visit?: (value: V) => void): void {
    for (const [key, entry] of this.entries) {
      if (entry.until <= now) this.entries.delete(key);
      else visit?.(entry.value);
    }
  }
}
