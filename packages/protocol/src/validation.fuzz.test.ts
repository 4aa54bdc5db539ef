import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIngestBody } from './ingest-body.js';
import { validateIngestItem } from './ingest-validation.js';
import { SCOPE_FIELD_RULES } from './scope-fields.js';
import { isEntityScope, MAX_ENTITY_ID_LENGTH, SCOPES } from './scopes.js';

/**
 * Property-based fuzzing of ingest validation, every scope: whatever the
 * input, validation never throws, never mutates it, and either accepts a
 * JSON-serialisable event (which validates again to itself) or rejects
 * with a short reason.
 */
const RUNS = { numRuns: 300 };
const MAX_REASON_CHARS = 600;

/** A value for a known field: mostly plausible, often wrong, sometimes hostile. */
const fieldValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('', ' ', 'ground', 'NaN', '1e309', '__proto__', '\u0000', '\ud800'),
  fc.string({ minLength: 300, maxLength: 2000 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const fieldName = (scope: (typeof SCOPES)[number]) =>
  fc.oneof(
    fc.constantFrom(...SCOPE_FIELD_RULES[scope].map(([name]) => name)),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'id', 'removed'),
  );
/** `{scope, data, op?}` with fields of the scope's own table: exercises every field rule. */
const nearValidItem = fc.constantFrom(...SCOPES).chain((scope) =>
  fc.record(
    {
      scope: fc.constant(scope),
      op: fc.constantFrom('upsert', 'delete', 'merge', 1),
      data: fc
        .tuple(
          fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fieldValue), { nil: undefined }),
          fc.dictionary(fieldName(scope), fieldValue, { maxKeys: 8 }),
        )
        .map(([id, fields]) => (id === undefined ? fields : { ...fields, id })),
    },
    { requiredKeys: ['scope', 'data'] },
  ),
);
const anyItem = fc.oneof(
  nearValidItem,
  fc.anything(),
  fc.jsonValue(),
  fc.record({ scope: fc.oneof(fc.constantFrom(...SCOPES), fc.anything()), data: fc.anything() }),
);

function checkVerdict(input: unknown): void {
  const snapshot = structuredCloneOrSame(input);
  const result = validateIngestItem(input);
  expect(input).toEqual(snapshot);
  if (result.ok) {
    const { event } = result;
    expect(SCOPES).toContain(event.scope);
    if (isEntityScope(event.scope)) {
      expect(typeof event.data['id']).toBe('string');
      expect((event.data['id'] as string).length).toBeGreaterThan(0);
      expect((event.data['id'] as string).length).toBeLessThanOrEqual(MAX_ENTITY_ID_LENGTH);
    }
    // What was accepted is what the wire carries: JSON, and stable under re-validation.
    const wire = JSON.parse(JSON.stringify(event)) as unknown;
    const again = validateIngestItem(wire);
    expect(again.ok).toBe(true);
    if (again.ok) expect(again.event).toEqual(wire);
  } else {
    expect(typeof result.reason).toBe('string');
    expect(result.reason.length).toBeGreaterThan(0);
    expect(result.reason.length).toBeLessThanOrEqual(MAX_REASON_CHARS);
  }
}

function structuredCloneOrSame(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return value; // functions, symbols: compared by identity
  }
}

describe('ingest validation under fuzzing', () => {
  it('judges near-valid items of every scope without throwing, with short reasons', () => {
    fc.assert(
      fc.property(nearValidItem, (item) => checkVerdict(JSON.parse(JSON.stringify(item)))),
      RUNS,
    );
  });

  it('judges arbitrary values (objects, arrays, primitives, prototypes) without throwing', () => {
    fc.assert(fc.property(anyItem, checkVerdict), RUNS);
  });

  it('reads any body — JSON, arrays, NDJSON, random text — into a batch or one reason, never a throw', () => {
    const line = fc.oneof(
      nearValidItem.map((i) => JSON.stringify(i)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 40 }),
    );
    const body = fc.oneof(
      fc.array(nearValidItem, { maxLength: 20 }).map((items) => JSON.stringify(items)),
      fc.array(line, { maxLength: 20 }).map((lines) => lines.join('\n')),
      fc.array(line, { maxLength: 20 }).map((lines) => lines.join('\r\n')),
      fc.string({ maxLength: 500 }),
      fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes).toString('utf8')),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    const contentType = fc.option(
      fc.constantFrom('application/json', 'application/x-ndjson', 'application/ndjson; charset=utf-8', 'text/plain'),
      { nil: undefined },
    );
    fc.assert(
      fc.property(body, contentType, (text, type) => {
        const parsed = parseIngestBody(text, type);
        if (parsed.kind === 'invalid') {
          expect(parsed.reason.length).toBeGreaterThan(0);
          expect(parsed.reason.length).toBeLessThanOrEqual(MAX_REASON_CHARS);
        } else {
          for (const r of parsed.results) {
            if (!r.ok) expect(r.reason.length).toBeLessThanOrEqual(MAX_REASON_CHARS + 20);
          }
        }
      }),
      RUNS,
    );
  });
});
