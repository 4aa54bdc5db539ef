import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IngestParseResult, MAX_BATCH_ITEMS, parseIngestBody, parseIngestLine } from './ingest-body.js';
import type { ItemResult } from './ingest-validation.js';

function batch(result: IngestParseResult): ItemResult[] {
  if (result.kind !== 'batch') throw new Error(`expected a batch, got invalid: ${result.reason}`);
  return result.results;
}

function invalidReason(result: IngestParseResult): string {
  if (result.kind !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(result)}`);
  return result.reason;
}

const plane = { scope: 'aircraft', data: { id: '3c6444', lat: 50, lon: 8 } };
const alert = { scope: 'alerts', data: { severity: 'Severe' } };
const badAlert = { scope: 'alerts', data: { severity: 'severe' } };

describe('parseIngestBody: JSON', () => {
  it('reads one JSON object as a batch of one', () => {
    const results = batch(parseIngestBody(JSON.stringify(plane), 'application/json'));
    expect(results).toEqual([{ ok: true, event: plane }]);
  });

  it('reads a mixed array: each item judged alone, in order', () => {
    const results = batch(parseIngestBody(JSON.stringify([plane, badAlert, 42, alert, { scope: 'nope' }])));
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true, false]);
    expect(results[1]).toEqual({ ok: false, reason: expect.stringMatching(/^alerts\.data\.severity:/) });
    expect(results[2]).toEqual({ ok: false, reason: expect.stringMatching(/^item: expected an object.*got 42$/) });
  });

  it('accepts a pretty-printed object, an empty array, a BOM and CRLF', () => {
    expect(batch(parseIngestBody(JSON.stringify(plane, null, 2)))).toHaveLength(1);
    expect(batch(parseIngestBody('[]'))).toEqual([]);
    expect(batch(parseIngestBody(`\uFEFF${JSON.stringify([plane])}\r\n`))).toHaveLength(1);
  });

  it.each([
    ['', /^body: empty/],
    ['  \n\t ', /^body: empty/],
    ['42', /^body: expected a JSON object or an array of items, got 42$/],
    ['"aircraft"', /^body: expected a JSON object or an array of items, got string "aircraft"$/],
    ['null', /got null$/],
    ['true', /got true$/],
    ['{"scope": "aircraft", ', /^body: not valid JSON \(/],
    ['[{"scope": "aircraft", "data": {"id": "a"}},\n{"scope"', /^body: not valid JSON/],
    ['[\n  {"scope": "alerts", "data": {}},\n  {"scope": "alerts", "data": {}}\n', /^body: not valid JSON/],
    ['{\n  "scope": "aircraft",\n  "data": {"id": "a"}\n', /^body: not valid JSON/],
  ])('rejects %j as a whole', (body, expected) => {
    expect(invalidReason(parseIngestBody(body))).toMatch(expected);
  });

  it('bounds the batch size', () => {
    const many = JSON.stringify(Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => alert));
    expect(invalidReason(parseIngestBody(many))).toMatch(/^body: too many items \(10001\); at most 10000/);
    expect(batch(parseIngestBody(JSON.stringify(Array.from({ length: MAX_BATCH_ITEMS }, () => alert))))).toHaveLength(
      MAX_BATCH_ITEMS,
    );
  });
});

describe('parseIngestBody: NDJSON', () => {
  const ndjson = [
    JSON.stringify(plane),
    '',
    '{"scope": "alerts", "data": {',
    JSON.stringify(badAlert),
    '   ',
    JSON.stringify(alert),
    '',
  ].join('\n');

  it.each([
    'application/x-ndjson',
    'application/ndjson; charset=utf-8',
    'Application/X-NDJSON',
    undefined,
    'application/json',
  ])('reads lines (content type %s): a broken line is one rejected item naming its line', (contentType) => {
    const results = batch(parseIngestBody(ndjson, contentType));
    expect(results).toHaveLength(4);
    expect(results[0]).toEqual({ ok: true, event: plane });
    expect(results[1]).toEqual({ ok: false, reason: expect.stringMatching(/^line 3: not valid JSON \(/) });
    expect(results[2]).toEqual({
      ok: false,
      reason: expect.stringMatching(/^line 4: alerts\.data\.severity: expected one of/),
    });
    expect(results[3]).toEqual({ ok: true, event: alert });
  });

  it('handles CRLF line ends', () => {
    expect(batch(parseIngestBody(`${JSON.stringify(plane)}\r\n${JSON.stringify(alert)}\r\n`)).map((r) => r.ok)).toEqual(
      [true, true],
    );
  });

  it('with a declared NDJSON type, every line is an item: a one-line array is rejected, not unpacked', () => {
    const results = batch(parseIngestBody(JSON.stringify([plane]), 'application/x-ndjson'));
    expect(results).toEqual([{ ok: false, reason: expect.stringMatching(/^line 1: item: expected an object/) }]);
  });

  it('with a declared NDJSON type, a single broken line is one rejected item', () => {
    expect(batch(parseIngestBody('{"scope":', 'application/x-ndjson'))).toEqual([
      { ok: false, reason: expect.stringMatching(/^line 1: not valid JSON/) },
    ]);
  });

  it('with a declared NDJSON type, an empty body is still invalid', () => {
    expect(invalidReason(parseIngestBody('\n\n', 'application/x-ndjson'))).toMatch(/^body: empty/);
  });

  it('bounds the number of lines', () => {
    const lines = Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => JSON.stringify(alert)).join('\n');
    expect(invalidReason(parseIngestBody(lines, 'application/x-ndjson'))).toMatch(/^body: too many items/);
    expect(invalidReason(parseIngestBody(lines))).toMatch(/^body: too many items/);
    const blanksDoNotCount = Array.from({ length: MAX_BATCH_ITEMS }, () => JSON.stringify(alert)).join('\n\n');
    expect(batch(parseIngestBody(blanksDoNotCount))).toHaveLength(MAX_BATCH_ITEMS);
  });
});

describe('parseIngestBody: properties', () => {
  function checkShape(result: IngestParseResult): void {
    if (result.kind === 'invalid') {
      expect(result.reason.length).toBeGreaterThan(0);
      expect(result.reason.length).toBeLessThan(400);
      return;
    }
    for (const item of result.results) {
      if (!item.ok) expect(item.reason.length).toBeGreaterThan(0);
    }
  }

  const contentType = fc.option(
    fc.constantFrom('application/json', 'application/x-ndjson', 'application/ndjson', 'text/plain'),
    {
      nil: undefined,
    },
  );

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), contentType, (body, type) => checkShape(parseIngestBody(body, type))),
      { numRuns: 2000 },
    );
  });

  const jsonItem = fc.oneof(
    fc.record({
      scope: fc.constantFrom('aircraft', 'vessels', 'alerts', 'cyber', 'signals', 'x'),
      data: fc.jsonValue(),
    }),
    fc.jsonValue(),
  );

  it('never throws on JSON-ish bodies (values, arrays, NDJSON, with random damage)', () => {
    const body = fc.oneof(
      fc.json(),
      fc.array(jsonItem, { maxLength: 20 }).map((items) => JSON.stringify(items)),
      fc.array(jsonItem, { maxLength: 20 }).map((items) => items.map((i) => JSON.stringify(i)).join('\n')),
      fc.tuple(fc.array(jsonItem, { minLength: 1, maxLength: 10 }), fc.nat(), fc.string()).map(([items, at, junk]) => {
        const text = items.map((i) => JSON.stringify(i)).join('\n');
        const cut = at % (text.length + 1);
        return text.slice(0, cut) + junk + text.slice(cut);
      }),
    );
    fc.assert(
      fc.property(body, contentType, (text, type) => checkShape(parseIngestBody(text, type))),
      { numRuns: 2000 },
    );
  });

  it('a JSON array yields exactly one result per element, in order', () => {
    fc.assert(
      fc.property(fc.array(jsonItem, { maxLength: 30 }), (items) => {
        const results = batch(parseIngestBody(JSON.stringify(items)));
        expect(results).toHaveLength(items.length);
      }),
    );
  });

  it('NDJSON of objects yields one result per non-blank line', () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { minLength: 1, maxLength: 30 }), (objects) => {
        const text = objects.map((o) => JSON.stringify(o)).join('\n\n');
        expect(batch(parseIngestBody(text, 'application/x-ndjson'))).toHaveLength(objects.length);
      }),
    );
  });
});

describe('parseIngestLine', () => {
  it('gives each line the verdict and reason it gets inside an NDJSON batch', () => {
    const lines = [JSON.stringify(plane), '{"scope":', JSON.stringify(badAlert), '[1]', JSON.stringify(alert)];
    const inBatch = batch(parseIngestBody(lines.join('\n'), 'application/x-ndjson'));
    expect(lines.map((line, i) => parseIngestLine(line, i + 1))).toEqual(inBatch);
    expect(inBatch.map((r) => (r.ok ? 'ok' : r.reason.slice(0, 7)))).toEqual([
      'ok',
      'line 2:',
      'line 3:',
      'line 4:',
      'ok',
    ]);
  });
});
