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

  it('gives an item larger than the bound a part of its own', () => {
    const big = JSON.stringify({ id: 'big', blob: 'x'.repeat(5000) });
    const chunks = encodeSnapshotChunks('signals', 1, 0, ['{"id":"a"}', big, '{"id":"b"}'], 1024).map(parse);
    expect(chunks.map((c) => c.data.items.length)).toEqual([1, 1, 1]);
  });
});
