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
  dataJson: string;
  /** Entity scopes only. */
  entityId: string | undefined;
}

export function encodeIngestEvent(event: IngestEvent, isEntity: boolean): EncodedEvent {
  const { data } = event;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TypeError(`${event.scope} event: data must be a JSON object`);
  }
  const dataJson = JSON.stringify(data);
  if (!isEntity) return { dataJson, entityId: undefined };
  const id = data.id;
  if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))) {
    return { dataJson, entityId: String(id) };
  }
  throw new TypeError(`${event.scope} event: entity scopes need data.id (a non-empty string or a number)`);
}
