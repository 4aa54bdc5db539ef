import { describeValue, isPlainObject, truncate } from './describe-value.js';
import { type ItemResult, validateIngestItem } from './ingest-validation.js';

/** Most items accepted in one ingest request (JSON array elements or NDJSON lines). */
export const MAX_BATCH_ITEMS = 10_000;

/**
 * A parsed ingest body: one result per item, in input order (NDJSON: per
 * non-blank line), or why the body as a whole cannot be read.
 */
export type IngestParseResult = { kind: 'batch'; results: ItemResult[] } | { kind: 'invalid'; reason: string };

const NDJSON_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/x-ndjson', 'application/ndjson']);
const MAX_PARSE_ERROR_CHARS = 160;

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: truncate(err instanceof Error ? err.message : String(err), MAX_PARSE_ERROR_CHARS) };
  }
}

function invalid(reason: string): IngestParseResult {
  return { kind: 'invalid', reason };
}

/** Whether a Content-Type names NDJSON (`application/x-ndjson` or `application/ndjson`, parameters ignored). */
export function isNdjsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return NDJSON_MEDIA_TYPES.has(mediaType);
}

/**
 * Reads an ingest request body: a JSON object (one item), a JSON array of
 * items, or NDJSON (one item per line).
 *
 * NDJSON is used when `contentType` says so (`application/x-ndjson`,
 * `application/ndjson`), or when the body is not one JSON value, does not
 * start with `[`, and at least one of its lines is a JSON object. In NDJSON a
 * line that is not valid JSON is one rejected item whose reason names the
 * line (`line 3: ...`); every NDJSON reason starts with its line number;
 * blank lines are skipped and count for line numbering only.
 *
 * Guarantees: never throws; the whole body is `invalid` only when it is
 * empty, unreadable as JSON or NDJSON, a JSON value that is neither object
 * nor array, or holds more than MAX_BATCH_ITEMS items. Otherwise every item
 * gets its own result and one bad item never costs the others.
 */
export function parseIngestBody(body: string, contentType?: string): IngestParseResult {
  if (typeof body !== 'string') return invalid(`body: expected text, got ${describeValue(body)}`);
  // A UTF-8 byte order mark is not JSON whitespace; some HTTP clients still send one.
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  if (text.trim() === '') return invalid('body: empty; expected a JSON object, a JSON array or NDJSON of items');

  if (isNdjsonContentType(contentType)) return parseNdjson(text, true);

  const whole = parseJson(text);
  if (!whole.ok) {
    if (!text.trimStart().startsWith('[')) {
      const lines = parseNdjson(text, false);
      if (lines !== undefined) return lines;
    }
    return invalid(`body: not valid JSON (${whole.error})`);
  }

  const value = whole.value;
  if (Array.isArray(value)) {
    if (value.length > MAX_BATCH_ITEMS) {
      return invalid(`body: too many items (${value.length}); at most ${MAX_BATCH_ITEMS} per request`);
    }
    return { kind: 'batch', results: value.map((item) => validateIngestItem(item)) };
  }
  if (isPlainObject(value)) return { kind: 'batch', results: [validateIngestItem(value)] };
  return invalid(`body: expected a JSON object or an array of items, got ${describeValue(value)}`);
}

/**
 * Parses `text` line by line. When `declared` is false (NDJSON only
 * suspected) returns undefined unless at least one line is a JSON object,
 * so that a broken single JSON document is reported as such.
 */
function parseNdjson(text: string, declared: true): IngestParseResult;
function parseNdjson(text: string, declared: false): IngestParseResult | undefined;
function parseNdjson(text: string, declared: boolean): IngestParseResult | undefined {
  const lines = text.split('\n');
  const results: ItemResult[] = [];
  let sawObject = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (results.length === MAX_BATCH_ITEMS) {
      if (!declared && !sawObject) return undefined;
      return invalid(
        `body: too many items (more than ${MAX_BATCH_ITEMS} NDJSON lines); at most ${MAX_BATCH_ITEMS} per request`,
      );
    }
    const read = readLine(line, i + 1);
    if (read.object) sawObject = true;
    results.push(read.result);
  }
  if (!declared && !sawObject) return undefined;
  return { kind: 'batch', results };
}

/**
 * One non-blank NDJSON line as an ingest item, with the reasons of an NDJSON
 * batch (`line N: not valid JSON (…)`, `line N: aircraft.data.lat: …`): the
 * streaming ingest path validates each line with this, so a line gets the
 * same verdict and message whichever way it arrives. Never throws.
 */
export function parseIngestLine(line: string, lineNo: number): ItemResult {
  return readLine(line, lineNo).result;
}

function readLine(line: string, lineNo: number): { result: ItemResult; object: boolean } {
  const parsed = parseJson(line);
  if (!parsed.ok)
    return { result: { ok: false, reason: `line ${lineNo}: not valid JSON (${parsed.error})` }, object: false };
  const result = validateIngestItem(parsed.value);
  return {
    result: result.ok ? result : { ok: false, reason: `line ${lineNo}: ${result.reason}` },
    object: isPlainObject(parsed.value),
  };
}
