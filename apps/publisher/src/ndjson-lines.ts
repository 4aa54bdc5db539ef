/** One line of an NDJSON stream: its text, or the news that it was over the limit (its bytes were dropped). */
export type NdjsonLine = { no: number; text: string } | { no: number; tooLong: true };

const NEWLINE = 0x0a;

/**
 * Cuts a byte stream into lines, pulled one at a time, numbered from 1 (blank
 * lines count, as in an NDJSON batch). Splits on the `\n` byte, which never
 * occurs inside a UTF-8 sequence, and decodes each line on its own, so a
 * character cut between two chunks arrives whole.
 *
 * Memory: the chunks pushed and not yet pulled. Of an unterminated line it
 * never keeps more than `maxLineBytes` plus the chunk that passed the limit:
 * such a line is reported at once (`tooLong`) and the rest of it, up to its
 * newline, is dropped as it arrives. The caller bounds the rest by pulling
 * (and by not reading its socket while complete lines are waiting).
 */
export class NdjsonLines {
  private readonly chunks: Buffer[] = [];
  /** Where the current line starts in `chunks[0]`. */
  private offset = 0;
  /** How many chunks from the first were searched without finding a newline (they hold the current line). */
  private scanned = 0;
  /** Bytes of the current line in those chunks. */
  private partBytes = 0;
  /** The current line was reported too long: drop bytes up to its newline. */
  private dropping = false;
  private ended = false;
  private dropTail = false;
  private lineNo = 0;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): void {
    if (!this.ended && chunk.length > 0) this.chunks.push(chunk);
  }

  /** No more input: the bytes after the last newline, if any, are the last line. */
  end(): void {
    this.ended = true;
  }

  /** No more input, and the bytes after the last newline are dropped: a line cut short is not a line. */
  stop(): void {
    this.ended = true;
    this.dropTail = true;
  }

  /** Drops all input held, complete lines included, and takes no more (the stream stopped reading). */
  clear(): void {
    this.chunks.length = 0;
    this.offset = 0;
    this.scanned = 0;
    this.partBytes = 0;
    this.ended = true;
  }

  /** Bytes pushed and not yet pulled as lines. */
  get heldBytes(): number {
    let bytes = 0;
    for (const c of this.chunks) bytes += c.length;
    return bytes - this.offset;
  }

  /** The next line, or undefined until more input (or the end) completes one. */
  next(): NdjsonLine | undefined {
    if (this.dropping && !this.dropToNewline()) return undefined;
    while (this.scanned < this.chunks.length) {
      const chunk = this.chunks[this.scanned] as Buffer;
      const from = this.scanned === 0 ? this.offset : 0;
      const newline = chunk.indexOf(NEWLINE, from);
      if (newline !== -1) {
        const tooLong = this.partBytes + (newline - from) > this.maxLineBytes;
        const text = tooLong ? '' : this.lineText(newline);
        this.consumeThrough(newline);
        return tooLong ? { no: ++this.lineNo, tooLong } : { no: ++this.lineNo, text };
      }
      this.partBytes += chunk.length - from;
      this.scanned++;
      if (this.partBytes > this.maxLineBytes) {
        this.chunks.splice(0, this.scanned);
        this.resetLine();
        this.dropping = true;
        return { no: ++this.lineNo, tooLong: true };
      }
    }
    if (!this.ended || this.partBytes === 0) return undefined;
    if (this.dropTail) {
      this.chunks.length = 0;
      this.resetLine();
      return undefined;
    }
    // The end of input ends the last line.
    const text = this.lineText(undefined);
    this.chunks.length = 0;
    this.resetLine();
    return { no: ++this.lineNo, text };
  }

  /** The current line's text up to `newline` in `chunks[scanned]` (undefined: all that is held). */
  private lineText(newline: number | undefined): string {
    const first = this.chunks[0] as Buffer;
    if (this.scanned === 0 && newline !== undefined) return first.toString('utf8', this.offset, newline);
    const parts = [first.subarray(this.offset), ...this.chunks.slice(1, this.scanned)];
    if (newline !== undefined) parts.push((this.chunks[this.scanned] as Buffer).subarray(0, newline));
    return Buffer.concat(parts).toString('utf8');
  }

  /** Drops the current line and its newline, at `newline` in `chunks[scanned]`. */
  private consumeThrough(newline: number): void {
    const chunk = this.chunks[this.scanned] as Buffer;
    this.chunks.splice(0, this.scanned);
    this.resetLine();
    if (newline + 1 < chunk.length) this.offset = newline + 1;
    else this.chunks.shift();
  }

  /** Drops bytes up to and including the next newline; false when none is held yet. */
  private dropToNewline(): boolean {
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0] as Buffer;
      const newline = chunk.indexOf(NEWLINE, this.offset);
      if (newline === -1) {
        this.chunks.shift();
        this.offset = 0;
        continue;
      }
      this.scanned = 0;
      this.consumeThrough(newline);
      this.dropping = false;
      return true;
    }
    return false;
  }

  private resetLine(): void {
    this.offset = 0;
    this.scanned = 0;
    this.partBytes = 0;
  }
}
