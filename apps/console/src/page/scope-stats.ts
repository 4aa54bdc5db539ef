/** Events per second are counted over this window. */
export const RATE_WINDOW_MS = 5_000;
const BUCKET_MS = 250;
const BUCKETS = RATE_WINDOW_MS / BUCKET_MS;

/**
 * What the console shows of one scope besides its items: the last seq seen,
 * when the last event arrived, events per second over the last
 * RATE_WINDOW_MS, and (log scopes) the items received: the snapshot's, plus
 * one per live event. Timestamps are the page's clock (ms).
 */
export class ScopeStats {
  seq = -1;
  lastEventAt: number | null = null;
  /** Log scopes: the snapshot's items plus every live event since (a resync's snapshot starts it again). */
  items = 0;
  private readonly buckets = new Float64Array(BUCKETS);
  private bucketStart = 0;

  snapshot(seq: number, items: number): void {
    this.seq = seq;
    this.items = items;
  }

  event(seq: number, now: number): void {
    this.seq = seq;
    this.items++;
    this.lastEventAt = now;
    this.roll(now);
    this.buckets[Math.floor(now / BUCKET_MS) % BUCKETS]!++;
  }

  /** Events per second over the last RATE_WINDOW_MS (the bucket in progress included). */
  rate(now: number): number {
    this.roll(now);
    let sum = 0;
    for (const n of this.buckets) sum += n;
    return sum / (RATE_WINDOW_MS / 1000);
  }

  /** ms since the last live event, or null before the first. */
  age(now: number): number | null {
    return this.lastEventAt === null ? null : Math.max(0, now - this.lastEventAt);
  }

  /** Empties the buckets that fell out of the window since the last call. */
  private roll(now: number): void {
    const current = Math.floor(now / BUCKET_MS);
    const from = Math.max(this.bucketStart + 1, current - BUCKETS + 1);
    for (let b = from; b <= current; b++) this.buckets[b % BUCKETS] = 0;
    if (current > this.bucketStart) this.bucketStart = current;
  }
}
