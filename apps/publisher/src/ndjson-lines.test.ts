import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type NdjsonLine, NdjsonLines } from './ndjson-lines.js';

function pullAll(lines: NdjsonLines): NdjsonLine[] {
  const out: NdjsonLine[] = [];
  for (let line = lines.next(); line !== undefined; line = lines.next()) out.push(line);
  return out;
}

/** Feeds `bytes` cut at `cuts`, pulling after each chunk, then ends. */
function split(bytes: Buffer, cuts: number[], maxLineBytes: number): NdjsonLine[] {
  const lines = new NdjsonLines(maxLineBytes);
  const out: NdjsonLine[] = [];
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
    lines.push(bytes.subarray(at, cut));
    at = cut;
    out.push(...pullAll(lines));
  }
  lines.end();
  out.push(...pullAll(lines));
  return out;
}

/** What the lines are, read the simple way: split the whole text on newlines. */
function expected(text: string, maxLineBytes: number): NdjsonLine[] {
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((part, i) =>
    Buffer.byteLength(part) > maxLineBytes ? { no: i + 1, tooLong: true } : { no: i + 1, text: part },
  );
}

describe('NdjsonLines', () => {
  it('cuts lines across chunks, numbers them from 1 (blank ones too), and ends the last line at the end', () => {
    const out = split(Buffer.from('{"a":1}\n\n{"b":"é"}\n{"c"'), [3, 12, 13, 14], 100);
    expect(out).toEqual([
      { no: 1, text: '{"a":1}' },
      { no: 2, text: '' },
      { no: 3, text: '{"b":"é"}' },
      { no: 4, text: '{"c"' },
    ]);
  });

  it('reports a line over the limit once, drops its bytes, and goes on with the next line', () => {
    const long = 'x'.repeat(50);
    const out = split(Buffer.from(`ok\n${long}\nafter\n`), [4, 10, 30], 20);
    expect(out).toEqual([
      { no: 1, text: 'ok' },
      { no: 2, tooLong: true },
      { no: 3, text: 'after' },
    ]);
  });

  it('holds at most the limit plus one chunk of a line with no end in sight', () => {
    const lines = new NdjsonLines(1000);
    for (let i = 0; i < 100; i++) {
      lines.push(Buffer.alloc(300, 0x61));
      const got = pullAll(lines);
      if (i === 3) expect(got).toEqual([{ no: 1, tooLong: true }]);
      else expect(got).toEqual([]);
      expect(lines.heldBytes).toBeLessThanOrEqual(1300);
    }
    lines.push(Buffer.from('\nnext\n'));
    expect(pullAll(lines)).toEqual([{ no: 2, text: 'next' }]);
  });

  it('agrees with splitting the whole text, however the bytes are cut (multi-byte characters included)', () => {
    const line = fc.string({ unit: fc.constantFrom('a', 'é', '€', '𝄞', ' ', '\n'), maxLength: 40 });
    fc.assert(
      fc.property(line, fc.array(fc.nat(), { maxLength: 8 }), fc.integer({ min: 1, max: 30 }), (text, cuts, max) => {
        expect(split(Buffer.from(text), cuts, max)).toEqual(expected(text, max));
      }),
      { numRuns: 2000 },
    );
  });

  it('clear() drops what is held and takes nothing more', () => {
    const lines = new NdjsonLines(100);
    lines.push(Buffer.from('a\nb\nc'));
    expect(lines.next()).toEqual({ no: 1, text: 'a' });
    lines.clear();
    lines.push(Buffer.from('d\n'));
    expect(lines.next()).toBeUndefined();
    expect(lines.heldBytes).toBe(0);
  });

  it('stop() keeps the complete lines held and drops a line cut short', () => {
    const lines = new NdjsonLines(100);
    lines.push(Buffer.from('a\nb\n{"cut'));
    lines.stop();
    lines.push(Buffer.from('":1}\n'));
    expect(pullAll(lines)).toEqual([
      { no: 1, text: 'a' },
      { no: 2, text: 'b' },
    ]);
    expect(lines.heldBytes).toBe(0);
  });
});
