/**
 * Log-bucketed latency histogram in microseconds (HDR-ish: 16 linear buckets
 * per power of two, so any recorded value is within 1/16 ≈ 6% of its bucket's
 * upper bound). Fixed size, mergeable by summing counts, cheap to record.
 */
const SUB_BITS = 4;
const SUB = 1 << SUB_BITS;
const MAX_EXP = 40; // 2^40 µs ≈ 12 days: anything larger is clamped
export const HISTOGRAM_BUCKETS = SUB + (MAX_EXP - SUB_BITS) * SUB;

export function bucketOf(us: number): number {
  const v = us < 0 ? 0 : Math.floor(us);
  if (v < SUB) return v;
  const e = Math.floor(Math.log2(v));
  if (e >= MAX_EXP) return HISTOGRAM_BUCKETS - 1;
  const sub = Math.floor(v / 2 ** (e - SUB_BITS)) - SUB; // 0..15
  return SUB + (e - SUB_BITS) * SUB + sub;
}

/** The largest value that falls in bucket `i`. */
export function bucketUpperBound(i: number): number {
  if (i < SUB) return i;
  const e = Math.floor((i - SUB) / SUB) + SUB_BITS;
  const sub = (i - SUB) % SUB;
  return (SUB + sub + 1) * 2 ** (e - SUB_BITS) - 1;
}

export class Histogram {
  readonly counts: Float64Array;
  total = 0;
  max = 0;
  sum = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(HISTOGRAM_BUCKETS);
    if (counts) {
      for (let i = 0; i < HISTOGRAM_BUCKETS && i < counts.length; i++) {
        const c = counts[i] as number;
        this.counts[i] = c;
        this.total += c;
      }
    }
  }

  record(us: number): void {
    const b = bucketOf(us);
    this.counts[b] = (this.counts[b] as number) + 1;
    this.total++;
    this.sum += us;
    if (us > this.max) this.max = us;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++)
      this.counts[i] = (this.counts[i] as number) + (other.counts[i] as number);
    this.total += other.total;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** The value at quantile q (0..1): the upper bound of the bucket holding it; NaN when empty. */
  percentile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return this.max > 0 ? Math.min(bucketUpperBound(i), this.max) : bucketUpperBound(i);
    }
    return this.max;
  }

  /** Sparse form for IPC and JSON: [bucket, count] pairs. */
  toSparse(): { buckets: Array<[number, number]>; max: number; sum: number } {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      const c = this.counts[i] as number;
      if (c > 0) buckets.push([i, c]);
    }
    return { buckets, max: this.max, sum: this.sum };
  }

  static fromSparse(s: { buckets: Array<[number, number]>; max: number; sum: number }): Histogram {
    const h = new Histogram();
    for (const [i, c] of s.buckets) {
      h.counts[i] = c;
      h.total += c;
    }
    h.max = s.max;
    h.sum = s.sum;
    return h;
  }
}
