/*
 * The entity an event frame of an entity scope is about, read from the
 * frame's bytes (the gateway's conflation keeps the latest frame per entity:
 * apps/gateway/src/conflation-buffer.ts). A frame is
 * `{"type":"<scope>","seq":<n>,"ts":<ms>,"data":<data>}` (encodeEventFrame);
 * the publisher writes `data` as JSON.stringify of the ingested object, so
 * `id` is usually its first field, and a removal's data is exactly
 * `{"id":<id>,"removed":true,"reason":"…"}` (packages/backplane,
 * entity-removal.ts). Those read without parsing; any other layout is
 * parsed once.
 */

/** The entity of an event frame: its id as the publisher keys it (`String(data.id)`), and whether it is a removal. */
export interface FrameEntity {
  id: string;
  removed: boolean;
}

const DATA_KEY = '"data":';
/** The `"data":` of an event frame starts within this many bytes (short scope names, 16-digit seq and ts). */
const DATA_KEY_WITHIN = 80;
const ID_FIRST = Buffer.from('{"id":');
const REMOVED_NEXT = Buffer.from(',"removed":true,');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The entity an event frame is about, or null when the frame has no object
 * `data` with a string or number `id` (not an entity event). A removal is
 * data whose `removed` is `true`, as clients read it (an upsert carrying
 * `"removed":true` reads as one there too).
 */
export function frameEntity(frame: Buffer): FrameEntity | null {
  const at = frame.indexOf(DATA_KEY);
  if (at < 0 || at > DATA_KEY_WITHIN) return null;
  const start = at + DATA_KEY.length;
  // The data object ends one byte before the frame's closing brace.
  const end = frame.length - 1;
  if (end <= start || frame[end] !== 0x7d) return null;
  if (holdsAt(frame, ID_FIRST, start)) {
    const fast = readLeadingId(frame, start + ID_FIRST.length, end);
    if (fast !== null) return fast;
  }
  return parseEntity(frame.toString('utf8', start, end));
}

/** The `id` value starting at `from` (a string without escapes, or a number), and what follows it; null: parse instead. */
function readLeadingId(frame: Buffer, from: number, end: number): FrameEntity | null {
  let i = from;
  let id: string;
  if (frame[i] === QUOTE) {
    i++;
    const open = i;
    while (i < end && frame[i] !== QUOTE) {
      if (frame[i] === BACKSLASH) return null; // escapes: let JSON.parse decode them
      i++;
    }
    if (i >= end || i === open) return null;
    id = frame.toString('utf8', open, i);
    i++;
  } else {
    const open = i;
    while (i < end && frame[i] !== 0x2c && frame[i] !== 0x7d) i++;
    const text = frame.toString('latin1', open, i);
    const n = Number(text);
    // Only a number JSON.stringify writes as String(n) reads as itself; anything else is parsed.
    if (text === '' || !Number.isFinite(n) || String(n) !== text) return null;
    id = text;
  }
  return { id, removed: holdsAt(frame, REMOVED_NEXT, i) };
}

/** Whether `frame` holds the bytes of `needle` at `at`. */
function holdsAt(frame: Buffer, needle: Buffer, at: number): boolean {
  return at + needle.length <= frame.length && frame.compare(needle, 0, needle.length, at, at + needle.length) === 0;
}

function parseEntity(dataJson: string): FrameEntity | null {
  let data: unknown;
  try {
    data = JSON.parse(dataJson);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const { id, removed } = data as { id?: unknown; removed?: unknown };
  if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))) {
    return { id: String(id), removed: removed === true };
  }
  return null;
}
