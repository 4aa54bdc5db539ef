import { encodeEventFrame } from '@hydra/protocol';
import { describe, expect, it } from 'vitest';
import { ConflationBuffer, conflateFrames } from './conflation-buffer.js';

const frame = (seq: number, data: Record<string, unknown>): Buffer =>
  Buffer.from(encodeEventFrame('aircraft', seq, 1_700_000_000_000 + seq, JSON.stringify(data)));
const removal = (seq: number, id: string): Buffer =>
  Buffer.from(
    encodeEventFrame('aircraft', seq, 1_700_000_000_000 + seq, `{"id":"${id}","removed":true,"reason":"deleted"}`),
  );

/** The entity state a client builds by applying frames in order (as the SDK's ScopeView does). */
function applyAll(frames: Iterable<Buffer>, state = new Map<string, unknown>()): Map<string, unknown> {
  for (const f of frames) {
    const { data } = JSON.parse(f.toString()) as { data: { id: unknown; removed?: boolean } };
    if (data.removed === true) state.delete(String(data.id));
    else state.set(String(data.id), data);
  }
  return state;
}

const seqOf = (f: Buffer): number => (JSON.parse(f.toString()) as { seq: number }).seq;

describe('ConflationBuffer', () => {
  it("keeps each entity's latest frame, byte for byte, in increasing seq order", () => {
    const b = new ConflationBuffer();
    const frames = [
      frame(1, { id: 'a', lat: 1 }),
      frame(2, { id: 'b', lat: 2 }),
      frame(3, { id: 'a', lat: 3 }),
      frame(4, { id: 'c', lat: 4 }),
      frame(5, { id: 'b', lat: 5 }),
    ];
    for (const [i, f] of frames.entries()) b.add(i + 1, f);
    expect(b.size).toBe(3);
    const out = b.take();
    expect(out.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(out.map((e) => e.frame)).toEqual([frames[2], frames[3], frames[4]]);
    expect(b.size).toBe(0);
    expect(b.take()).toEqual([]);
  });

  it('never drops a removal: removed stays removed; removed then back gives the removal, then the upsert', () => {
    const b = new ConflationBuffer();
    const frames = [
      frame(1, { id: 'a', v: 1 }),
      removal(2, 'a'),
      frame(3, { id: 'b', v: 1 }),
      frame(4, { id: 'a', v: 2 }),
      removal(5, 'b'),
      frame(6, { id: 'c', v: 1 }),
      frame(7, { id: 'a', v: 3 }),
    ];
    for (const [i, f] of frames.entries()) b.add(i + 1, f);
    const out = b.take();
    expect(out.map((e) => e.seq)).toEqual([2, 5, 6, 7]);
  });

  it('numbers and strings name the same entity (as the publisher keys them), and escaped ids are read', () => {
    const b = new ConflationBuffer();
    b.add(1, frame(1, { id: 42, v: 1 }));
    b.add(2, frame(2, { id: '42', v: 2 }));
    b.add(3, frame(3, { v: 3, id: 'x"y' }));
    b.add(4, frame(4, { id: 'x"y', v: 4 }));
    expect(b.take().map((e) => e.seq)).toEqual([2, 4]);
  });

  it('keeps frames without an entity id, each on its own', () => {
    const b = new ConflationBuffer();
    const odd = Buffer.from(encodeEventFrame('aircraft', 2, 2, '{"note":"no id"}'));
    b.add(1, frame(1, { id: 'a' }));
    b.add(2, odd);
    b.add(3, frame(3, { id: 'a' }));
    expect(b.take().map((e) => e.seq)).toEqual([2, 3]);
  });

  it('property: applying the conflation of any stretch to the state before it gives the state after it', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let run = 0; run < 100; run++) {
      const log: Buffer[] = [];
      const count = 1 + Math.floor(random() * 60);
      for (let seq = 1; seq <= count; seq++) {
        const id = `e${Math.floor(random() * 8)}`;
        log.push(random() < 0.2 ? removal(seq, id) : frame(seq, { id, v: seq }));
      }
      const cut = Math.floor(random() * count);
      const before = applyAll(log.slice(0, cut));
      const conflated = conflateFrames(log.slice(cut));
      const seqs = conflated.map(seqOf);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(applyAll(conflated, new Map(before))).toEqual(applyAll(log));
      // Every entity whose last event in the stretch is a removal gets that removal.
      const lastOf = new Map<string, Buffer>();
      for (const f of log.slice(cut)) lastOf.set(String(JSON.parse(f.toString()).data.id), f);
      for (const last of lastOf.values()) expect(conflated).toContain(last);
    }
  });
});
