import type { EventPublisher, PublishEvent } from '@hydra/backplane';
import { parseIngestBody, type Scope } from '@hydra/protocol';
import { admitItem } from './ingest-item.js';
import type { IngestMetrics, ScopeLabel } from './metrics.js';

/** The answer to a parsed batch: what was stored, what was refused and why. */
export interface IngestBatchReply {
  accepted: number;
  rejected: { index: number; reason: string }[];
  /**
   * One entry per stored event, in input order: its position in the batch and
   * the seq it got; `duplicate: true` when it had been stored before (same
   * idempotency key within the window) and `seq` is that original's.
   */
  events: { index: number; scope: Scope; seq: number; duplicate?: true }[];
  /** How many of `events` were duplicates (present only when some were). */
  duplicates?: number;
}

export type IngestOutcome =
  /** 200: every item stored. 400: some items refused; every valid item of the batch was still stored. */
  | { status: 200 | 400; body: IngestBatchReply }
  /** The body as a whole could not be read as a batch (bad JSON, empty, too many items). */
  | { status: 400; body: { error: 'invalid body'; reason: string } }
  /** The backplane did not store the batch: nothing is reported as stored. */
  | { status: 503; body: { error: 'backplane unavailable' }; cause: unknown };

/**
 * Validates a request body and publishes its valid items, in input order, in
 * one `publish` call. An item whose `data` is over `maxItemBytes` as JSON is
 * refused like an invalid one (admitItem; the rest of the batch is still
 * published). Never answers 200 for an event that was not stored: if
 * the publish rejects, the whole request is answered 503 and the client
 * retries. Log items with an idempotency key (idempotencyKeyFor: `data.id`,
 * else `batchKey` and the item's index) are then stored once: a retry is
 * answered with the original seq. Other events of a batch that failed midway
 * may be stored twice (entity scopes are idempotent by id).
 */
export async function ingestBody(
  body: string,
  contentType: string | undefined,
  publisher: EventPublisher,
  metrics: IngestMetrics,
  maxItemBytes: number,
  batchKey?: string,
): Promise<IngestOutcome> {
  const parsed = parseIngestBody(body, contentType);
  if (parsed.kind === 'invalid') {
    return { status: 400, body: { error: 'invalid body', reason: parsed.reason } };
  }

  const valid: PublishEvent[] = [];
  const validIndex: number[] = [];
  const rejected: IngestBatchReply['rejected'] = [];
  const rejectedScopes: ScopeLabel[] = [];
  parsed.results.forEach((result, index) => {
    const item = admitItem(result, index, maxItemBytes, batchKey);
    if (!item.ok) {
      rejected.push({ index, reason: item.reason });
      rejectedScopes.push(item.scope);
      return;
    }
    valid.push(item.event);
    validIndex.push(index);
  });

  const events: IngestBatchReply['events'] = [];
  let duplicates = 0;
  if (valid.length > 0) {
    const stopTimer = metrics.startPublishTimer();
    try {
      const published = await publisher.publish(valid);
      published.forEach((p, i) => {
        const index = validIndex[i] as number;
        if (p.duplicate) {
          duplicates++;
          events.push({ index, scope: p.scope, seq: p.seq, duplicate: true });
        } else events.push({ index, scope: p.scope, seq: p.seq });
      });
    } catch (cause) {
      metrics.publishFailure();
      return { status: 503, body: { error: 'backplane unavailable' }, cause };
    } finally {
      stopTimer();
    }
  }

  for (const e of events) metrics.event(e.scope, e.duplicate ? 'duplicate' : 'accepted');
  for (const scope of rejectedScopes) metrics.event(scope, 'rejected');

  return {
    status: rejected.length === 0 ? 200 : 400,
    body: { accepted: events.length, rejected, events, ...(duplicates > 0 ? { duplicates } : {}) },
  };
}
