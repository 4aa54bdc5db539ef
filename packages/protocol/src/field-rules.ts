import { describeValue, isPlainObject } from './describe-value.js';

/** Outcome marker: remove the field from the normalised data (the value means "absent", never zero). */
export const DROP: unique symbol = Symbol('drop');

/** Outcome: store `value` in place of the input value in the normalised data. */
export interface Replace {
  readonly replace: unknown;
}

/**
 * What a rule decided about one present, non-null field value:
 * - `undefined`: valid, kept as is;
 * - `DROP`: valid, removed from the normalised data;
 * - `Replace`: valid, stored normalised;
 * - a string: invalid. The text continues the field's path: it starts with
 *   `: ` (the field itself) or with a sub-path (`.baseScore`, `[2]`).
 */
export type Outcome = undefined | typeof DROP | Replace | string;

/** Checks one field value. Rules are pure, never throw, and never mutate their input. */
export type FieldRule = (value: unknown) => Outcome;

/** `: expected <what>, got <short description>`. */
export function expected(what: string, value: unknown): string {
  return `: expected ${what}, got ${describeValue(value)}`;
}

/** Formats a number for a range in a reason (`[-90, 90]`). */
function range(min: number, max: number, maxExclusive: boolean): string {
  return `[${min}, ${max}${maxExclusive ? ')' : ']'}`;
}

export const finiteNumber: FieldRule = (v) =>
  typeof v === 'number' && Number.isFinite(v) ? undefined : expected('a finite number', v);

/** A finite number in [min, max] (or [min, max) with `maxExclusive`), optionally an integer. */
export function numberIn(
  min: number,
  max: number,
  options: { integer?: boolean; maxExclusive?: boolean } = {},
): FieldRule {
  const integer = options.integer === true;
  const maxExclusive = options.maxExclusive === true;
  const what = `${integer ? 'an integer' : 'a number'} in ${range(min, max, maxExclusive)}`;
  return (v) =>
    typeof v === 'number' &&
    Number.isFinite(v) &&
    v >= min &&
    (maxExclusive ? v < max : v <= max) &&
    (!integer || Number.isInteger(v))
      ? undefined
      : expected(what, v);
}

export const nonNegativeNumber: FieldRule = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : expected('a finite number >= 0', v);

export const latitude: FieldRule = numberIn(-90, 90);
export const longitude: FieldRule = numberIn(-180, 180);

/** 1e11 ms is 1973-03-03; a smaller value is almost certainly epoch seconds. */
const MIN_EPOCH_MS = 1e11;
/** 1e13 ms is year 2286; a larger value is almost certainly epoch microseconds. */
const MAX_EPOCH_MS = 1e13;

/** Epoch milliseconds. Rejects values in the range of epoch seconds or microseconds (a common feed mistake). */
export const epochMs: FieldRule = (v) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return expected('epoch milliseconds (a number)', v);
  if (v < MIN_EPOCH_MS) return expected('epoch milliseconds (this looks like epoch seconds)', v);
  if (v >= MAX_EPOCH_MS) return expected('epoch milliseconds (this looks like microseconds)', v);
  return undefined;
};

export const boolean: FieldRule = (v) => (typeof v === 'boolean' ? undefined : expected('a boolean', v));

export const string: FieldRule = (v) => (typeof v === 'string' ? undefined : expected('a string', v));

/** A non-empty string of at most `max` characters. */
export function nonEmptyString(max: number): FieldRule {
  const what = `a non-empty string of at most ${max} characters`;
  return (v) => (typeof v === 'string' && v.length > 0 && v.length <= max ? undefined : expected(what, v));
}

/** A string matching `re` (which must be anchored); `what` describes the format. */
export function pattern(re: RegExp, what: string): FieldRule {
  return (v) => (typeof v === 'string' && re.test(v) ? undefined : expected(what, v));
}

/** One of `values`, spelled exactly as listed (case-sensitive). */
export function oneOf(values: readonly string[]): FieldRule {
  const allowed: ReadonlySet<unknown> = new Set(values);
  const what = `one of ${values.join(', ')}`;
  return (v) => (allowed.has(v) ? undefined : expected(what, v));
}

/** An array whose every element passes `element` (elements are never normalised). */
export function arrayOf(element: FieldRule, what: string): FieldRule {
  return (v) => {
    if (!Array.isArray(v)) return expected(`an array of ${what}`, v);
    for (let i = 0; i < v.length; i++) {
      const outcome = element(v[i]);
      if (typeof outcome === 'string') return `[${i}]${outcome}`;
    }
    return undefined;
  };
}

/**
 * A plain object whose listed fields, when present and not null, pass their
 * rule; fields named in `required` must be present. Other fields pass
 * through. Nested values are never normalised.
 */
export function objectWith(fields: Readonly<Record<string, FieldRule>>, required: readonly string[] = []): FieldRule {
  const entries = Object.entries(fields);
  return (v) => {
    if (!isPlainObject(v)) return expected('an object', v);
    for (const name of required) {
      if (v[name] === undefined || v[name] === null) return `.${name}: required`;
    }
    for (const [name, rule] of entries) {
      const field = v[name];
      if (field === undefined || field === null) continue;
      const outcome = rule(field);
      if (typeof outcome === 'string') return `.${name}${outcome}`;
    }
    return undefined;
  };
}

/** `rule`, except that `sentinel` (a "not available" code) is valid and removes the field. */
export function withSentinel(sentinel: number, rule: FieldRule): FieldRule {
  return (v) => (v === sentinel ? DROP : rule(v));
}
