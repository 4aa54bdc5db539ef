import { encodeSnapshotFrame, type Scope, SNAPSHOT_ENVELOPE_BYTES } from '@hydra/protocol';

/**
 * Splits a scope snapshot into `snapshot` messages of at most `maxBytes`
 * each, with one exception: an item too large to fit a part with the
 * envelope (over `maxBytes` − SNAPSHOT_ENVELOPE_BYTES − 1 bytes) is sent
 * alone, in a part of the item's size plus the envelope (under
 * SNAPSHOT_ENVELOPE_BYTES), which may exceed `maxBytes` (docs/protocol.md and
 * asyncapi.yaml document this). Every part carries the same `seq` and `ts`
 * (the publish time of event `seq`, the client's proof of that position when
 * it resumes), its 1-based `part`, the number of `parts`, and
 * `complete: true` on the last one, so a client knows when it holds the
 * whole state. An empty scope is one part with no items.
 */
export function encodeSnapshotChunks(
  scope: Scope,
  seq: number,
  seqTs: number,
  items: readonly string[],
  maxBytes: number,
): Buffer[] {
  const groups: string[][] = [];
  let current: string[] = [];
  let size = 0;
  const budget = Math.max(1, maxBytes - SNAPSHOT_ENVELOPE_BYTES);
  for (const item of items) {
    const itemBytes = Buffer.byteLength(item) + 1;
    if (current.length > 0 && size + itemBytes > budget) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += itemBytes;
  }
  groups.push(current);
  const parts = groups.length;
  return groups.map((group, i) => Buffer.from(encodeSnapshotFrame(scope, seq, seqTs, i + 1, parts, group)));
}
