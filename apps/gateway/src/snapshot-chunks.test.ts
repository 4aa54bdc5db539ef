import { SNAPSHOT_ENVELOPE_BYTES } from '@hydra/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSnapshotChunks } from './snapshot-chunks.js';

const parse = (b: Buffer) =>
  JSON.parse(b.toString()) as { type: string; data: Record<string, unknown> & { items: unknown[] } };

describe('encodeSnapshotChunks', () => {
  it('sends an empty scope as one complete part', () => {
    const [only, ...rest] = encodeSnapshotChunks('aircraft', 7, 1_700_000_000_007, [], 1024);
    expect(rest).toEqual([]);
    expect(parse(only as Buffer)).toEqual({
      type: 'snapshot',
      data: { scope: 'aircraft', seq: 7, ts: 1_700_000_000_007, part: 1, parts: 1, complete: true, items: [] },
    });
  });

  it('splits 20,000 items into parts under the size bound, in order, all at one seq', () => {
    const items = Array.from({ length: 20_000 }, (_, i) =>
      JSON.stringify({ id: `ac${i}`, lat: i / 1000, lon: 1.5, callsign: `X${i}` }),
    );
    const chunks = encodeSnapshotChunks('aircraft', 42, 1_700_000_000_042, items, 64 * 1024);
    expect(chunks.length).toBeGreaterThan(10);
    const parsed = chunks.map(parse);
    for (const [i, c] of parsed.entries()) {
      expect(chunks[i]?.length).toBeLessThanOrEqual(64 * 1024);
      expect(c.data).toMatchObject({
        scope: 'aircraft',
        seq: 42,
        ts: 1_700_000_000_042,
        part: i + 1,
        parts: chunks.length,
        complete: i === chunks.length - 1,
      });
    }
    expect(parsed.flatMap((c) => c.data.items)).toEqual(items.map((s) => JSON.parse(s)));
  });

  it('gives an item larger than the bound a part of its own: the only part that may exceed it', () => {
    const big = JSON.stringify({ id: 'big', blob: 'x'.repeat(5000) });
    const chunks = encodeSnapshotChunks('signals', 1, 1_700_000_000_001, ['{"id":"a"}', big, '{"id":"b"}'], 1024);
    const parsed = chunks.map(parse);
    expect(parsed.map((c) => c.data.items.length)).toEqual([1, 1, 1]);
    expect(parsed.map((c) => [c.data.part, c.data.parts, c.data.complete])).toEqual([
      [1, 3, false],
      [2, 3, false],
      [3, 3, true],
    ]);
    // The documented exception: the item plus an envelope of under SNAPSHOT_ENVELOPE_BYTES.
    const envelope = (chunks[1] as Buffer).length - Buffer.byteLength(big);
    expect(envelope).toBeGreaterThan(0);
    expect(envelope).toBeLessThan(SNAPSHOT_ENVELOPE_BYTES);
    expect(chunks[0]?.length).toBeLessThanOrEqual(1024);
    expect(chunks[2]?.length).toBeLessThanOrEqual(1024);
  });

  it('keeps every part within the bound unless it holds one item too large for any part', () => {
    const item = fc.string({ maxLength: 3000 }).map((s) => JSON.stringify({ id: s }));
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 60 }),
        fc.integer({ min: 256, max: 4096 }),
        fc.integer({ min: 0, max: 999_999_999_999_999 }),
        fc.integer({ min: 0, max: 999_999_999_999_999 }),
        (items, maxBytes, seq, seqTs) => {
          const chunks = encodeSnapshotChunks('vessels', seq, seqTs, items, maxBytes);
          const parsed = chunks.map(parse);
          expect(parsed.flatMap((c) => c.data.items)).toEqual(items.map((s) => JSON.parse(s)));
          for (const [i, chunk] of chunks.entries()) {
            const data = (parsed[i] as ReturnType<typeof parse>).data;
            expect(data).toMatchObject({
              seq,
              ts: seqTs,
              part: i + 1,
              parts: chunks.length,
              complete: i === chunks.length - 1,
            });
            if (chunk.length <= maxBytes) continue;
            expect(data.items).toHaveLength(1);
            const only = JSON.stringify(data.items[0]);
            expect(Buffer.byteLength(only)).toBeGreaterThan(maxBytes - SNAPSHOT_ENVELOPE_BYTES - 1);
            expect(chunk.length - Buffer.byteLength(only)).toBeLessThan(SNAPSHOT_ENVELOPE_BYTES);
          }
        },
      ),
    );
  });
});
