/** Bytes of one slab: the memory a scope's kept frames are copied into. */
export const FRAME_SLAB_BYTES = 64 * 1024;
/** A frame larger than this gets memory of its own instead of a slab's tail (bounds a slab's unused end to a quarter). */
const OWN_ALLOCATION_BYTES = FRAME_SLAB_BYTES / 4;

/**
 * Copies the frames one scope keeps (its ring, sequence-follower.ts) into
 * memory that holds nothing else.
 *
 * Why: a frame from the bus is a slice of the socket read it arrived in
 * (ioredis hands out views of its read buffer, up to 64 KiB). A quiet
 * scope's event read among a busy scope's flood shares such a read with
 * hundreds of the busy scope's frames, and a view kept alive keeps the whole
 * read alive: a ring of 4,096 quiet events held up to 256 MiB.
 *
 * Guarantee: frames are copied into slabs of FRAME_SLAB_BYTES, filled in the
 * order they are kept; a frame over a quarter slab gets an allocation of its
 * own, so a full slab's unused end is under a quarter of it. A holder that
 * drops its frames oldest first (the ring) therefore keeps alive at most its
 * frames' bytes and a third more, plus two slabs (the oldest, partly dropped,
 * and the one being filled). The cost: one memcpy of each kept frame, and a
 * slab allocated per 64 KiB of frames.
 */
export class FrameArena {
  private slab: Buffer = Buffer.alloc(0);
  private used = 0;

  /** A copy of `frame` in the arena's memory (the caller keeps the copy and drops `frame`). */
  keep(frame: Buffer): Buffer {
    const n = frame.length;
    if (n > OWN_ALLOCATION_BYTES) {
      const own = Buffer.allocUnsafeSlow(n);
      frame.copy(own);
      return own;
    }
    if (this.used + n > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(FRAME_SLAB_BYTES);
      this.used = 0;
    }
    const kept = this.slab.subarray(this.used, this.used + n);
    frame.copy(kept);
    this.used += n;
    return kept;
  }
}
