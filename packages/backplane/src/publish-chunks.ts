import type { Scope } from '@hydra/protocol';
import type { EncodedEvent } from './event-data.js';

/** Most events one publish-batch.lua run takes: bounds how long one run holds Redis (≈ 1 ms at 4 µs/event). */
export const MAX_CHUNK_EVENTS = 256;
/** Most data JSON characters one run takes (a chunk always holds at least one event): bounds the script's arguments. */
export const MAX_CHUNK_BYTES = 256 * 1024;

/** One publish-batch.lua run: consecutive events of one scope, in input order. */
export interface PublishChunk {
  scope: Scope;
  /** Input positions of the chunk's events, ascending. */
  indexes: number[];
}

/**
 * Splits a batch into chunks: grouped by scope (each scope's events keep
 * their input order, and its chunks follow one another in that order), each
 * chunk at most `maxEvents` events and, unless it is a single event,
 * `maxBytes` characters of data JSON. Chunks come out in order of their first
 * event, so each scope's chunks are in order.
 */
export function planPublishChunks(
  scopes: readonly Scope[],
  encoded: readonly Pick<EncodedEvent, 'dataJson'>[],
  maxEvents = MAX_CHUNK_EVENTS,
  maxBytes = MAX_CHUNK_BYTES,
): PublishChunk[] {
  const chunks: PublishChunk[] = [];
  const open = new Map<Scope, { chunk: PublishChunk; bytes: number }>();
  scopes.forEach((scope, index) => {
    const bytes = encoded[index]!.dataJson.length;
    const current = open.get(scope);
    if (current !== undefined && current.chunk.indexes.length < maxEvents && current.bytes + bytes <= maxBytes) {
      current.chunk.indexes.push(index);
      current.bytes += bytes;
      return;
    }
    const chunk: PublishChunk = { scope, indexes: [index] };
    chunks.push(chunk);
    open.set(scope, { chunk, bytes });
  });
  return chunks;
}
