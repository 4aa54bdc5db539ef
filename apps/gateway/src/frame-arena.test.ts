import { describe, expect, it } from 'vitest';
import { FRAME_SLAB_BYTES, FrameArena } from './frame-arena.js';
import { EventRing } from './ring-buffer.js';

/** Bytes of memory `frames` keep alive: each distinct ArrayBuffer behind them, whole. */
function pinnedBytes(frames: Iterable<Buffer>): number {
  let bytes = 0;
  for (const b of new Set([...frames].map((f) => f.buffer))) bytes += b.byteLength;
  return bytes;
}

/** A 64 KiB socket read holding `frame` among other bytes, and the view of it the bus would hand out. */
function viewInRead(frame: string): { read: Buffer; view: Buffer } {
  const read = Buffer.alloc(64 * 1024, 'x');
  const at = 1000 + (frame.length % 7);
  read.write(frame, at);
  return { read, view: read.subarray(at, at + Buffer.byteLength(frame)) };
}

describe('FrameArena', () => {
  it('keeps a copy that holds none of the read it came in, and survives the read being reused', () => {
    const arena = new FrameArena();
    const { read, view } = viewInRead('{"type":"alerts","seq":1}');
    const kept = arena.keep(view);
    expect(kept.toString()).toBe('{"type":"alerts","seq":1}');
    expect(kept.buffer).not.toBe(read.buffer);
    read.fill(0);
    expect(kept.toString()).toBe('{"type":"alerts","seq":1}');
  });

  it('fills one slab after another in order: 2,000 frames of 100 bytes live in four slabs', () => {
    const arena = new FrameArena();
    const kept = Array.from({ length: 2000 }, (_, i) => arena.keep(viewInRead(`${i}`.padEnd(100, '.')).view));
    expect(new Set(kept.map((f) => f.buffer)).size).toBe(Math.ceil((2000 * 100) / FRAME_SLAB_BYTES));
    expect(kept.every((f, i) => f.toString() === `${i}`.padEnd(100, '.'))).toBe(true);
  });

  it('gives a frame over a quarter slab memory of its own, the size of the frame', () => {
    const arena = new FrameArena();
    const small = arena.keep(Buffer.from('a'.repeat(100)));
    const large = arena.keep(Buffer.from('b'.repeat(FRAME_SLAB_BYTES / 4 + 1)));
    const next = arena.keep(Buffer.from('c'.repeat(100)));
    expect(large.buffer.byteLength).toBe(FRAME_SLAB_BYTES / 4 + 1);
    expect(next.buffer).toBe(small.buffer);
  });

  it('bounds what a ring of kept frames holds alive: their bytes and a third, plus two slabs, whatever the sizes', () => {
    const arena = new FrameArena();
    const ring = new EventRing(300);
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let seq = 1; seq <= 20_000; seq++) {
      // Mostly frames of a few hundred bytes, some up to a quarter slab and past it.
      const size = random() < 0.9 ? 50 + Math.floor(random() * 400) : Math.floor(random() * FRAME_SLAB_BYTES * 0.3);
      ring.push(seq, arena.keep(viewInRead('f'.repeat(Math.max(1, size))).view));
      if (seq % 1000 === 0) {
        const held: Buffer[] = [];
        ring.forEachAfter(0, (f) => held.push(f));
        const heldBytes = held.reduce((n, f) => n + f.length, 0);
        expect(pinnedBytes(held)).toBeLessThanOrEqual((4 / 3) * heldBytes + 2 * FRAME_SLAB_BYTES);
      }
    }
  });
});
