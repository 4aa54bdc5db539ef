import type { Scope } from '@hydra/protocol';

/** The event first stored under an idempotency key. */
export interface DedupeClaim {
  seq: number;
  ts: number;
}

/**
 * Idempotency keys of log scopes for one process (MemoryEventBus), with the
 * semantics of publish-batch.lua's: a key claimed at time t is remembered
 * until t + windowMs (exclusive), then forgotten. The window is the same for
 * every key, so keys expire in the order they were claimed and forgetting is
 * a walk from the oldest: memory is bounded by the keys claimed in one window.
 */
export class MemoryDedupe {
  readonly #windowMs: number;
  /** Per scope, in claim order: key → claim and when it expires. */
  readonly #claims = new Map<Scope, Map<string, DedupeClaim & { expiresAt: number }>>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  get enabled(): boolean {
    return this.#windowMs > 0;
  }

  /** The claim on `key` in `scope` still inside its window at `now`, if any. */
  find(scope: Scope, key: string, now: number): DedupeClaim | undefined {
    const claims = this.#forgetExpired(scope, now);
    const claim = claims?.get(key);
    return claim === undefined ? undefined : { seq: claim.seq, ts: claim.ts };
  }

  /** Records that `key` in `scope` was stored as `seq` at `ts` (call only after find() returned nothing). */
  claim(scope: Scope, key: string, claim: DedupeClaim, now: number): void {
    let claims = this.#claims.get(scope);
    if (claims === undefined) {
      claims = new Map();
      this.#claims.set(scope, claims);
    }
    claims.set(key, { ...claim, expiresAt: now + this.#windowMs });
  }

  #forgetExpired(scope: Scope, now: number) {
    const claims = this.#claims.get(scope);
    if (claims === undefined) return undefined;
    for (const [key, claim] of claims) {
      if (claim.expiresAt > now) break;
      claims.delete(key);
    }
    return claims;
  }
}
