import type { EventPublisher } from '@hydra/backplane';
import { type IngestEvent, type ItemResult, parseIngestBody, type Scope } from '@hydra/protocol';
import { type IngestMetrics, type ScopeLabel, scopeLabel } from './metrics.js';

/** The answer to a parsed batch: what was stored, what was refused and why. */
export interface IngestBatchReply {
  accepted: number;
  rejected: { index: number; reason: string }[];
  /** One entry per stored event, in input order: its position in the batch and the seq it got. */
  events: { index: number; scope: Scope; seq: number }[];
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
 * refused like an invalid one (the rest of the batch is still published). Never answers 200 for an event that was not stored: if
 * the publish rejects, the whole request is answered 503 and the client
 * retries (events of a batch that failed midway may then be stored twice;
 * upstream feeds are expected to tolerate that for entity scopes by id).
 */
export async function ingestBody(
  body: string,
  contentType: string | undefined,
  publisher: EventPublisher,
  metrics: IngestMetrics,
  maxItemBytes: number,
): Promise<IngestOutcome> {
  const parsed = parseIngestBody(body, contentType);
  if (parsed.kind === 'invalid') {
    return { status: 400, body: { error: 'invalid body', reason: parsed.reason } };
  }

  const valid: IngestEvent[] = [];
  const validIndex: number[] = [];
  const rejected: IngestBatchReply['rejected'] = [];
  const oversized: Scope[] = [];
  parsed.results.forEach((result, index) => {
    if (!result.ok) {
      rejected.push({ index, reason: result.reason });
      return;
    }
    // Measured as it will be stored (re-serialised: `9e20` is stored as 21 digits), never estimated from the body.
    const bytes = Buffer.byteLength(JSON.stringify(result.event.data));
    if (bytes > maxItemBytes) {
      const reason = `${result.event.scope}.data: ${bytes} bytes as JSON, over the limit of ${maxItemBytes} (HYDRA_INGEST_MAX_ITEM_BYTES)`;
      rejected.push({ index, reason });
      oversized.push(result.event.scope);
      return;
    }
    valid.push(result.event);
    validIndex.push(index);
  });

  const events: IngestBatchReply['events'] = [];
  if (valid.length > 0) {
    const stopTimer = metrics.startPublishTimer();
    try {
      const published = await publisher.publish(valid);
      published.forEach((p, i) => {
        events.push({ index: validIndex[i] as number, scope: p.scope, seq: p.seq });
      });
    } catch (cause) {
      metrics.publishFailure();
      return { status: 503, body: { error: 'backplane unavailable' }, cause };
    } finally {
      stopTimer();
    }
  }

  for (const event of valid) metrics.event(event.scope, 'accepted');
  for (const result of parsed.results) if (!result.ok) metrics.event(rejectedScope(result), 'rejected');
  for (const scope of oversized) metrics.event(scope, 'rejected');

  return {
    status: rejected.length === 0 ? 200 : 400,
    body: { accepted: events.length, rejected, events },
  };
}

/**
 * The scope label of a refused item, for metrics: a `scope` the validator
 * reports, else the scope its reason names (reasons start with the offending
 * path, `aircraft.data.id: …`, after an NDJSON `line N: `), else `unknown`.
 * Only catalogue scopes pass, so the label set stays bounded.
 */
function rejectedScope(result: ItemResult): ScopeLabel {
  const reported = (result as { scope?: unknown }).scope;
  if (reported !== undefined) return scopeLabel(reported);
  if (result.ok) return scopeLabel(result.event.scope);
  return scopeLabel(/^(?:line \d+: )?([a-z]+)\.data\b/.exec(result.reason)?.[1]);
}
