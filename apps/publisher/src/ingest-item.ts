import type { PublishEvent } from '@hydra/backplane';
import type { ItemResult } from '@hydra/protocol';
import { idempotencyKeyFor } from './idempotency.js';
import { type ScopeLabel, scopeLabel } from './metrics.js';

/** A validated item ready to publish, or why it is refused (and the scope label to count it under). */
export type AdmittedItem = { ok: true; event: PublishEvent } | { ok: false; reason: string; scope: ScopeLabel };

/**
 * The ingest rules after validation, the same for the batch and the stream
 * path: an item whose `data` is over `maxItemBytes` as JSON is refused with
 * its size; a log item gets its idempotency key (idempotencyKeyFor: `data.id`,
 * else `batchKey` and `index`, the item's position among the request's items).
 */
export function admitItem(
  result: ItemResult,
  index: number,
  maxItemBytes: number,
  batchKey: string | undefined,
): AdmittedItem {
  if (!result.ok) return { ok: false, reason: result.reason, scope: rejectedScope(result) };
  // Measured as it will be stored (re-serialised: `9e20` is stored as 21 digits), never estimated from the body.
  const bytes = Buffer.byteLength(JSON.stringify(result.event.data));
  if (bytes > maxItemBytes) {
    const reason = `${result.event.scope}.data: ${bytes} bytes as JSON, over the limit of ${maxItemBytes} (HYDRA_INGEST_MAX_ITEM_BYTES)`;
    return { ok: false, reason, scope: result.event.scope };
  }
  const idempotencyKey = idempotencyKeyFor(result.event, index, batchKey);
  return { ok: true, event: idempotencyKey === undefined ? result.event : { ...result.event, idempotencyKey } };
}

/**
 * The scope label of a refused item, for metrics: a `scope` the validator
 * reports, else the scope its reason names (reasons start with the offending
 * path, `aircraft.data.id: …`, after an NDJSON `line N: `), else `unknown`.
 * Only catalogue scopes pass, so the label set stays bounded.
 */
function rejectedScope(result: ItemResult & { ok: false }): ScopeLabel {
  const reported = (result as { scope?: unknown }).scope;
  if (reported !== undefined) return scopeLabel(reported);
  return scopeLabel(/^(?:line \d+: )?([a-z]+)\.data\b/.exec(result.reason)?.[1]);
}
