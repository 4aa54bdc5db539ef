import type { IngestEvent } from '@hydra/protocol';

/**
 * What every EventBus implementation stores and sends for one ingest event:
 * the data serialised once (`JSON.stringify`, then passed through byte for
 * byte into the frame and the snapshot state) and, for entity scopes, the
 * entity id as a string (`42` and `"42"` name the same entity).
 *
 * Throws a TypeError for an event that cannot be published (validation is the
 * publisher's job; this is the last line of defence so a bad event can never
 * be half-stored). Implementations call it for a whole batch before storing
 * anything.
 */
export interface EncodedEvent {
  /** `delete` only for entity scopes. */
  op: 'upsert' | 'delete';
  /** The data JSON of an upsert or log event; '' for a delete (its removal data is built by the store). */
  dataJson: string;
  /** Entity scopes only. */
  entityId: string | undefined;
}

export function encodeIngestEvent(event: IngestEvent, isEntity: boolean): EncodedEvent {
  const { data } = event;
  const op = event.op ?? 'upsert';
  if (op !== 'upsert' && op !== 'delete') {
    throw new TypeError(`${event.scope} event: op must be "upsert" or "delete", got ${String(op)}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TypeError(`${event.scope} event: data must be a JSON object`);
  }
  if (!isEntity) {
    if (op === 'delete') throw new TypeError(`${event.scope} event: delete applies to entity scopes only`);
    return { op, dataJson: JSON.stringify(data), entityId: undefined };
  }
  const id = data.id;
  if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))) {
    return { op, dataJson: op === 'delete' ? '' : JSON.stringify(data), entityId: String(id) };
  }
  throw new TypeError(`${event.scope} event: entity scopes need data.id (a non-empty string or a number)`);
}
