import { describeValue, isPlainObject, quoteName } from './describe-value.js';
import { DROP } from './field-rules.js';
import type { EventData, IngestEvent } from './messages.js';
import { SCOPE_CROSS_CHECKS, SCOPE_FIELD_RULES } from './scope-fields.js';
import { isEntityScope, isScope, MAX_ENTITY_ID_LENGTH, SCOPES } from './scopes.js';

/** The verdict on one ingest item: the normalised event, or why it was rejected. */
export type ItemResult = { ok: true; event: IngestEvent } | { ok: false; reason: string };

const ITEM_SHAPE = '{"scope": "...", "data": {...}}';
const ITEM_KEYS = `${ITEM_SHAPE} with an optional "op" ("upsert" or "delete", entity scopes only)`;
const SCOPE_LIST = SCOPES.join(', ');
const ID_RULE = `a non-empty string of at most ${MAX_ENTITY_ID_LENGTH} characters`;

function reject(reason: string): ItemResult {
  return { ok: false, reason };
}

/**
 * Validates and normalises one ingest item `{"scope", "data"}`, or
 * `{"scope", "op", "data"}` for an entity scope.
 *
 * Guarantees:
 * - never throws, whatever `raw` is, and never mutates `raw`;
 * - a rejection's reason names the offending path (`aircraft.data.lat: ...`)
 *   and quotes at most a short excerpt of the input;
 * - entity scopes require `data.id` (non-empty string, at most
 *   MAX_ENTITY_ID_LENGTH characters, any format); log scopes accept the same
 *   `id` optionally;
 * - `op` is `"upsert"` (the default, also when absent) or `"delete"`, and is
 *   accepted on entity scopes only (log scopes are append-only: any `op` is
 *   rejected). A delete needs only `data.id`; it is normalised to
 *   `{scope, op: "delete", data: {id}}` (other data fields are dropped, not
 *   checked). An upsert is normalised without `op`;
 * - any other top-level key is rejected;
 * - known fields of the scope are type-checked; unknown fields pass through
 *   unchanged;
 * - normalisation (AIS "not available" codes, `null` on a known field, a
 *   readsb `"ground"` altitude, an all-blank callsign: all removed; callsign
 *   trimmed; icao24 lowercased) is applied to a shallow copy of `data`. When
 *   nothing needed normalising, `event.data` is the input object itself.
 *
 * Cost: one pass over the scope's known-field table (about 20 entries), no
 * allocation for a valid item beyond the result.
 */
export function validateIngestItem(raw: unknown): ItemResult {
  if (!isPlainObject(raw)) return reject(`item: expected an object ${ITEM_SHAPE}, got ${describeValue(raw)}`);
  for (const key in raw) {
    if (key !== 'scope' && key !== 'data' && key !== 'op' && Object.hasOwn(raw, key)) {
      return reject(`item: unexpected key ${quoteName(key)}; an item is ${ITEM_KEYS}`);
    }
  }

  const scope = raw['scope'];
  if (!isScope(scope)) {
    return reject(
      scope === undefined
        ? `scope: required, one of ${SCOPE_LIST}`
        : `scope: expected one of ${SCOPE_LIST}, got ${describeValue(scope)}`,
    );
  }

  const op = Object.hasOwn(raw, 'op') ? raw['op'] : undefined;
  if (op !== undefined) {
    if (!isEntityScope(scope)) {
      return reject(`${scope}.op: log scopes are append-only and take no "op" (got ${describeValue(op)}); remove it`);
    }
    if (op !== 'upsert' && op !== 'delete') {
      return reject(`${scope}.op: expected "upsert" or "delete", got ${describeValue(op)}`);
    }
  }

  const data = raw['data'];
  if (!isPlainObject(data)) {
    return reject(
      data === undefined
        ? `${scope}.data: required, an object`
        : `${scope}.data: expected an object, got ${describeValue(data)}`,
    );
  }

  const id = data['id'];
  if (id === undefined || id === null) {
    if (isEntityScope(scope)) return reject(`${scope}.data.id: required, ${ID_RULE}`);
  } else if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ENTITY_ID_LENGTH) {
    return reject(`${scope}.data.id: expected ${ID_RULE}, got ${describeValue(id)}`);
  }
  if (op === 'delete') return { ok: true, event: { scope, op: 'delete', data: { id } } };

  // Copy-on-write: `out` becomes a shallow copy the first time a field is normalised.
  let out: EventData = data;
  const rules = SCOPE_FIELD_RULES[scope];
  for (let i = 0; i < rules.length; i++) {
    const [field, rule] = rules[i]!;
    const value = data[field];
    if (value === undefined) continue;
    const outcome = value === null ? DROP : rule(value);
    if (outcome === undefined) continue;
    if (typeof outcome === 'string') return reject(`${scope}.data.${field}${outcome}`);
    if (out === data) out = { ...data };
    if (outcome === DROP) delete out[field];
    else out[field] = outcome.replace;
  }

  const crossCheck = SCOPE_CROSS_CHECKS[scope];
  const problem = crossCheck?.(out);
  if (problem !== undefined) return reject(problem);

  return { ok: true, event: { scope, data: out } };
}
