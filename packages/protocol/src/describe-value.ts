/** Longest excerpt of a client-supplied string ever quoted back in a reason. */
const MAX_QUOTED_CHARS = 40;

/**
 * Shortens `text` to at most `max` characters (plus an ellipsis), so reasons
 * built from untrusted input stay small whatever the input's size.
 */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/**
 * A short description of an untrusted value for an error reason: its type, and
 * its value only when that is short (strings are quoted and cut at 40 characters;
 * arrays and objects are never echoed).
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(truncate(value, MAX_QUOTED_CHARS))}`;
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return Array.isArray(value) ? `an array of length ${value.length}` : 'an object';
    default:
      return typeof value;
  }
}

/** True for `{...}` objects (JSON objects, object literals, null-prototype objects); false for arrays and class instances. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Quotes a name taken from untrusted input (a JSON key) for a reason, cut at 40 characters. */
export function quoteName(name: string): string {
  return JSON.stringify(truncate(name, MAX_QUOTED_CHARS));
}
