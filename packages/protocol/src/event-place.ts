import { tileOf } from './tiles.js';

/** Where one entity event puts its entity: its id, its tile (-1: no valid position), and whether it removes it. */
export interface EventPlace {
  readonly id: string;
  readonly tile: number;
  readonly removed: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** The `"data":` of an event frame starts within this many bytes (frame-readers.ts reads the same header). */
const DATA_KEY_WITHIN = 96;
/** Bytes of `"data":`. */
const DATA_KEY_LENGTH = 7;

/** Bytes that may appear between JSON tokens. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * The place of an entity event frame (`{"type":…,"seq":…,"ts":…,"data":{…}}`,
 * encodeEventFrame): `data.id` (a string), the tile of `data.lat`/`data.lon`
 * (tiles.ts; -1 unless both are numbers in range) and `data.removed === true`.
 * Null when the frame has no object `data` with a string `id`.
 *
 * Read with a byte scan of the top level of `data` (nested values and
 * strings skipped, the last of repeated keys wins, as JSON.parse does): the
 * gateway reads every event of a scope with `bbox` clients this way, and a
 * full parse per event would cost more than the fan-out. Anything the scan
 * does not handle plainly (an escape in a key or in the id, a malformed
 * frame) falls back to JSON.parse, so the answer is always JSON.parse's.
 */
export function readEventPlace(frame: Buffer): EventPlace | null {
  const at = dataKeyAt(frame);
  if (at < 0) return parsedPlace(frame);
  const scanned = scanPlace(frame, at + DATA_KEY_LENGTH);
  return scanned === undefined ? parsedPlace(frame) : scanned;
}

/**
 * Where the first `"data":` starts within DATA_KEY_WITHIN bytes, else -1: compared in JS
 * (a few dozen bytes in), which costs a quarter of Buffer.indexOf's call into C++.
 */
function dataKeyAt(b: Buffer): number {
  const last = Math.min(b.length - DATA_KEY_LENGTH, DATA_KEY_WITHIN);
  for (let i = 0; i <= last; i++) {
    if (
      b[i] === QUOTE &&
      b[i + 1] === 0x64 && // d
      b[i + 2] === 0x61 && // a
      b[i + 3] === 0x74 && // t
      b[i + 4] === 0x61 && // a
      b[i + 5] === QUOTE &&
      b[i + 6] === COLON
    ) {
      return i;
    }
  }
  return -1;
}

/** The place by JSON.parse (the reference the scan must agree with). */
export function parsedPlace(frame: Buffer): EventPlace | null {
  let data: unknown;
  try {
    data = (JSON.parse(frame.toString('utf8')) as { data?: unknown }).data;
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const d = data as { id?: unknown; lat?: unknown; lon?: unknown; removed?: unknown };
  if (typeof d.id !== 'string') return null;
  const removed = d.removed === true;
  return { id: d.id, tile: removed ? -1 : tileOf(d.lat, d.lon), removed };
}

/** undefined: not handled here (the caller parses). */
function scanPlace(b: Buffer, start: number): EventPlace | null | undefined {
  let i = start;
  const n = b.length;
  while (i < n && isSpace(b[i] as number)) i++;
  if (b[i] !== OPEN_BRACE) return undefined;
  i++;
  let id: string | null = null;
  let lat: unknown;
  let lon: unknown;
  let removed = false;
  for (;;) {
    while (i < n && isSpace(b[i] as number)) i++;
    if (b[i] === CLOSE_BRACE) break;
    if (b[i] !== QUOTE) return undefined;
    // The key: plain ASCII only (an escape falls back).
    const keyStart = i + 1;
    let k = keyStart;
    while (k < n && b[k] !== QUOTE) {
      if (b[k] === BACKSLASH) return undefined;
      k++;
    }
    if (k >= n) return undefined;
    const key = keyOf(b, keyStart, k - keyStart);
    i = k + 1;
    while (i < n && isSpace(b[i] as number)) i++;
    if (b[i] !== COLON) return undefined;
    i++;
    while (i < n && isSpace(b[i] as number)) i++;
    const valueStart = i;
    const valueEnd = skipValue(b, i);
    if (valueEnd < 0) return undefined;
    i = valueEnd;
    switch (key) {
      case KEY_ID:
        if (b[valueStart] === QUOTE) {
          for (let j = valueStart + 1; j < valueEnd - 1; j++) if (b[j] === BACKSLASH) return undefined;
          id = b.toString('utf8', valueStart + 1, valueEnd - 1);
        } else id = null;
        break;
      case KEY_LAT:
        lat = numberAt(b, valueStart, valueEnd);
        break;
      case KEY_LON:
        lon = numberAt(b, valueStart, valueEnd);
        break;
      case KEY_REMOVED:
        removed =
          valueEnd - valueStart === 4 &&
          b[valueStart] === 0x74 &&
          b[valueStart + 1] === 0x72 &&
          b[valueStart + 2] === 0x75 &&
          b[valueStart + 3] === 0x65;
        break;
    }
    while (i < n && isSpace(b[i] as number)) i++;
    if (b[i] === COMMA) {
      i++;
      continue;
    }
    if (b[i] === CLOSE_BRACE) break;
    return undefined;
  }
  if (id === null) return null;
  return { id, tile: removed ? -1 : tileOf(lat, lon), removed };
}

const KEY_OTHER = 0;
const KEY_ID = 1;
const KEY_LAT = 2;
const KEY_LON = 3;
const KEY_REMOVED = 4;
const REMOVED = Buffer.from('removed');

/** Which of the keys the scan reads the `length` bytes at `at` are, compared byte by byte (no string made). */
function keyOf(b: Buffer, at: number, length: number): number {
  if (length === 2) return b[at] === 0x69 && b[at + 1] === 0x64 ? KEY_ID : KEY_OTHER;
  if (length === 3 && b[at] === 0x6c) {
    if (b[at + 1] === 0x61 && b[at + 2] === 0x74) return KEY_LAT;
    if (b[at + 1] === 0x6f && b[at + 2] === 0x6e) return KEY_LON;
    return KEY_OTHER;
  }
  if (length === 7 && b.compare(REMOVED, 0, 7, at, at + 7) === 0) return KEY_REMOVED;
  return KEY_OTHER;
}

/** Powers of ten exactly representable as doubles (10^0 … 10^22). */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Digits whose integer stays below 2^53 (exact in a double). */
const MAX_EXACT_DIGITS = 15;

/**
 * A JSON number value as a number; anything else (a string, null, an object) as undefined.
 * A plain decimal of at most 15 digits (`-12.34567`, what position feeds send) is read from
 * the bytes as digits ÷ 10^fraction digits, both exact doubles, so the one rounded division
 * gives what Number() gives (the correctly rounded value); anything else goes through Number().
 */
function numberAt(b: Buffer, start: number, end: number): number | undefined {
  const c = b[start] as number;
  if (c !== 0x2d && (c < 0x30 || c > 0x39)) return undefined;
  const negative = c === 0x2d;
  let i = negative ? start + 1 : start;
  let digits = 0;
  let fraction = -1;
  let mantissa = 0;
  for (; i < end; i++) {
    const d = b[i] as number;
    if (d >= 0x30 && d <= 0x39) {
      mantissa = mantissa * 10 + (d - 0x30);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (d === 0x2e && fraction < 0) fraction = 0;
    else break;
  }
  if (i !== end || digits === 0 || digits > MAX_EXACT_DIGITS || fraction === 0) {
    return Number(b.toString('latin1', start, end));
  }
  const value = fraction > 0 ? mantissa / (EXACT_POWERS_OF_TEN[fraction] as number) : mantissa;
  return negative ? -value : value;
}

/** The index just after the JSON value starting at `i`, or -1 when it is not well formed enough to skip. */
function skipValue(b: Buffer, i: number): number {
  const n = b.length;
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < n; j++) {
      const d = b[j];
      if (d === QUOTE) {
        j = skipString(b, j);
        if (j < 0) return -1;
        j--;
      } else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // A number or a literal: up to the next delimiter.
  let j = i;
  while (j < n) {
    const d = b[j] as number;
    if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isSpace(d)) break;
    j++;
  }
  return j > i ? j : -1;
}

/** The index just after the string starting at `i` (a quote), or -1. */
function skipString(b: Buffer, i: number): number {
  const n = b.length;
  for (let j = i + 1; j < n; j++) {
    const d = b[j];
    if (d === BACKSLASH) j++;
    else if (d === QUOTE) return j + 1;
  }
  return -1;
}
