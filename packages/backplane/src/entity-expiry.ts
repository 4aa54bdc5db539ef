import { ENTITY_SCOPES, isScope, type Scope } from '@hydra/protocol';
import type { RetentionPolicy } from './retention.js';

/** Expired entities one EntityExpirer call removes at most (bounds one Lua script run). */
export const EXPIRE_BATCH_LIMIT = 100;

/**
 * Removes and announces entities past their scope TTL. Implemented by each
 * EventBus (it publishes the removals).
 *
 * Guarantee: each expired entity is removed from state and announced with
 * exactly one removal event (own seq, in history, on the bus:
 * `{"id":…,"removed":true,"reason":"expired"}`), however many processes
 * sweep the same backplane concurrently: finding it expired and removing it
 * are one atomic step (expire.lua on Redis).
 */
export interface EntityExpirer {
  /**
   * Removes up to `limit` entities of the entity scope `scope` whose last
   * update is older than the scope TTL (at the backplane's clock), oldest
   * first, publishing one removal event each. Resolves with how many it
   * removed; fewer than `limit` means none was left at that instant.
   * Rejects with a TypeError for a log scope or a `limit` below 1.
   */
  expireEntities(scope: Scope, limit: number): Promise<number>;
}

/**
 * Sweeps every entity scope: calls expireEntities in batches of
 * EXPIRE_BATCH_LIMIT until a call returns fewer. Resolves with the number of
 * removals this caller published (other sweepers' are not counted).
 */
export async function sweepExpiredEntities(expirer: EntityExpirer): Promise<number> {
  let total = 0;
  for (const scope of ENTITY_SCOPES) {
    for (;;) {
      const removed = await expirer.expireEntities(scope, EXPIRE_BATCH_LIMIT);
      total += removed;
      if (removed < EXPIRE_BATCH_LIMIT) break;
    }
  }
  return total;
}

/** Throws the TypeError EntityExpirer.expireEntities documents for bad arguments. */
export function assertExpireArgs(scope: Scope, limit: number, retention: RetentionPolicy): void {
  if (!isScope(scope) || retention[scope].kind !== 'entity') {
    throw new TypeError(`expireEntities: ${String(scope)} is not an entity scope`);
  }
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new TypeError(`expireEntities: limit must be >= 1, got ${limit}`);
}
