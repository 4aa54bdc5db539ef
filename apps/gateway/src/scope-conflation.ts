import { CONFLATION_TIERS_MS, type ConflationTierMs, frameEntity, isEntityScope, type Scope } from '@hydra/protocol';
import { ConflationTier, type ConflationTierDeps } from './conflation-tier.js';
import type { Session } from './session.js';

/**
 * The conflation tiers of one entity scope on one gateway (one
 * ConflationTier per `conflate=` value), fed by the scope's live events.
 * A log scope has none: its clients get every event whatever they ask.
 *
 * Per event: nothing while no tier is active; else the entity is read from
 * the frame once (frameEntity) and each active tier updates one map entry.
 */
export class ScopeConflation {
  private readonly tiers: ReadonlyMap<ConflationTierMs, ConflationTier>;

  constructor(
    readonly scope: Scope,
    deps: ConflationTierDeps,
  ) {
    const tiers = new Map<ConflationTierMs, ConflationTier>();
    if (isEntityScope(scope)) for (const ms of CONFLATION_TIERS_MS) tiers.set(ms, new ConflationTier(scope, ms, deps));
    this.tiers = tiers;
  }

  /** The tier a session follows in this scope, or null when it gets every event (no `conflate`, or a log scope). */
  tierOf(session: Session): ConflationTier | null {
    const ms = session.conflateMs;
    return ms === 0 ? null : (this.tiers.get(ms) ?? null);
  }

  /** One event the follower applied, in seq order. */
  onEvent(seq: number, frame: Buffer): void {
    let entity: ReturnType<typeof frameEntity> | undefined;
    for (const tier of this.tiers.values()) {
      if (!tier.isActive) continue;
      entity ??= frameEntity(frame);
      tier.onEvent(seq, frame, entity);
    }
  }

  /** ConflationTier.restart on every tier: the clients that were waiting for a flush. */
  restart(): Session[] {
    const waiting: Session[] = [];
    for (const tier of this.tiers.values()) if (tier.isActive) waiting.push(...tier.restart());
    return waiting;
  }

  /** Stops every tier's timer. */
  stop(): void {
    for (const tier of this.tiers.values()) tier.stop();
  }
}
