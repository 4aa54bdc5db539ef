/**
 * A fixed-capacity ring of recent live events of one scope with contiguous
 * `seq` numbers: pushing a seq that does not follow the newest one is the
 * caller's bug (it clears the ring on gaps instead).
 */
export class EventRing {
  private readonly seqs: Float64Array;
  private readonly frames: (Buffer | undefined)[];
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.seqs = new Float64Array(capacity);
    this.frames = new Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Oldest seq held, or undefined when empty. */
  get firstSeq(): number | undefined {
    return this.size === 0 ? undefined : this.seqs[this.start];
  }

  push(seq: number, frame: Buffer): void {
    const at = (this.start + this.size) % this.capacity;
    this.seqs[at] = seq;
    this.frames[at] = frame;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }

  clear(): void {
    this.frames.fill(undefined);
    this.start = 0;
    this.size = 0;
  }

  /** The frame held for `seq`, or undefined when the ring does not hold it. */
  frameAt(seq: number): Buffer | undefined {
    const first = this.firstSeq;
    if (first === undefined || seq < first || seq >= first + this.size) return undefined;
    return this.frames[(this.start + (seq - first)) % this.capacity];
  }

  /** Calls `visit` for every held event with seq > after, oldest first. */
  forEachAfter(after: number, visit: (frame: Buffer, seq: number) => void): void {
    for (let i = 0; i < this.size; i++) {
      const at = (this.start + i) % this.capacity;
      const seq = this.seqs[at] as number;
      if (seq > after) visit(this.frames[at] as Buffer, seq);
    }
  }
}
