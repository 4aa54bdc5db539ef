import { createHash } from 'node:crypto';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '@hydra/backplane';
import { type IngestEvent, isEntityScope } from '@hydra/protocol';

/** The request header naming a batch for retries (log items without `data.id`). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Printable ASCII, 1–200 characters: what `Idempotency-Key` may hold. */
const HEADER_VALUE = /^[\x20-\x7e]{1,200}$/;

/** The `Idempotency-Key` header's value, undefined when absent, or `{ invalid }` with the reason for a 400. */
export function readIdempotencyHeader(value: string | string[] | undefined): string | undefined | { invalid: string } {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
    return { invalid: 'Idempotency-Key must be one header of 1 to 200 printable ASCII characters' };
  }
  return value;
}

/**
 * The idempotency key of the item at `index` of a request (log scopes only;
 * entity scopes are idempotent by id and get none):
 * - `id:<data.id>` when the item has a `data.id` (a non-empty string or a
 *   finite number; `42` and `"42"` are the same key): the same item sent in
 *   any request, by any publisher, is stored once per window;
 * - else `batch:<Idempotency-Key>:<index>` when the request carries the
 *   header: the same body retried with the same header is stored once;
 * - else none (every send is stored).
 * A key longer than the bus accepts is replaced by `sha256:<hex>` of it.
 */
export function idempotencyKeyFor(event: IngestEvent, index: number, batchKey: string | undefined): string | undefined {
  if (isEntityScope(event.scope)) return undefined;
  const id = event.data['id'];
  if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))) {
    return bounded(`id:${String(id)}`);
  }
  return batchKey === undefined ? undefined : bounded(`batch:${batchKey}:${index}`);
}

function bounded(key: string): string {
  return key.length <= MAX_IDEMPOTENCY_KEY_LENGTH ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
