import { type KeyStore, keyStatus } from '@hydra/backplane';
import { UNAUTHORIZED_MESSAGE, unauthorized } from './admission.js';
import { describeError } from './describe-error.js';
import type { KeyCache } from './key-cache.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import { retryUntilDone } from './retry.js';
import type { Rejection, Session } from './session.js';
import type { SessionRegistry } from './session-registry.js';

/** Revoked key ids remembered at most; past that the set starts over (a revoked key also fails its lookup). */
const MAX_REMEMBERED_REVOCATIONS = 100_000;

/** What a session admitted on a possibly stale key answer gets at open (KeyRevocation.recheckAtOpen). */
export type OpenVerdict =
  /** The key is still good: serve the session. */
  | 'serve'
  /** Revoked or expired (read from the store, or a notice handled meanwhile): `error` + 1008. */
  | 'unauthorized'
  /** The key store could not be read: 1013, the client reconnects. */
  | 'unavailable'
  /** A drain started meanwhile: close with 1001 like every other client of this replica. */
  | 'going_away'
  /** The socket closed meanwhile: nothing to do. */
  | 'closed';

export interface KeyRevocationDeps {
  /** Read directly, past the cache, whenever a key must be checked again. */
  store: Pick<KeyStore, 'lookupByIds'>;
  keys: Pick<KeyCache, 'clear' | 'evictKeyId' | 'generation'>;
  registry: Pick<SessionRegistry, 'keyIds' | 'sessionsOfKey'>;
  /** Sends `error` with the rejection, then closes (nothing for a closed session). */
  reject: (session: Session, rejection: Rejection) => void;
  isDraining: () => boolean;
  metrics: Pick<GatewayMetrics, 'errors'>;
  log: Logger;
  now?: () => number;
}

/**
 * Acting on revoked and expired keys (guarantee 3): a revocation notice
 * closes every connection of the key at once and keeps it out of upgrades
 * whose lookup raced the notice; after a re-subscription, when notices may
 * have been lost, every held key is read again; a session admitted on a key
 * answer from before that is read again at open.
 *
 * Guarantee: a session is served only on a key answer read after the last
 * cache clear and not contradicted by a notice handled before it is served.
 */
export class KeyRevocation {
  private readonly revokedKeyIds = new Set<string>();
  /** Bumped by every recheck: an older recheck retry loop stops. */
  private recheckGeneration = 0;

  constructor(private readonly deps: KeyRevocationDeps) {}

  /** True for a key revoked on the control channel (the cache may have read it before). */
  isRevoked(keyId: string): boolean {
    return this.revokedKeyIds.has(keyId);
  }

  /** A revocation notice from the bus. */
  onKeyRevoked(keyId: string): void {
    if (this.revokedKeyIds.size >= MAX_REMEMBERED_REVOCATIONS) this.revokedKeyIds.clear();
    this.revokedKeyIds.add(keyId);
    this.deps.keys.evictKeyId(keyId);
    this.closeForKey(keyId, this.deps.registry.sessionsOfKey(keyId), 'API key revoked');
  }

  /** Revocation and expiry: `error` then close 1008, on every connection of the key. */
  closeForKey(keyId: string, sessions: Session[], why: string): void {
    if (sessions.length > 0) this.deps.log.info({ keyId, connections: sessions.length }, why);
    for (const session of sessions) this.deps.reject(session, unauthorized(UNAUTHORIZED_MESSAGE));
  }

  /**
   * After a re-subscription: revocation notices published while the
   * subscriber was down are lost (pub/sub is at-most-once). So the key cache
   * is emptied (a "valid" entry may be stale) and every key held by a live
   * session is read again from the key store; revoked and expired ones are
   * closed exactly as a notice or the expiry timer would (`error`, 1008).
   * A key the store no longer has (Redis restarted without its data) is left
   * open: the store cannot tell, and production Redis persists its keys.
   * A failed read is retried with capped backoff until a newer recheck takes over.
   */
  recheckKeys(): void {
    this.deps.keys.clear();
    const generation = ++this.recheckGeneration;
    void retryUntilDone(() => this.recheckHeldKeys(), {
      cancelled: () => this.deps.isDraining() || generation !== this.recheckGeneration,
      onFailure: (err) => {
        this.deps.metrics.errors.inc({ kind: 'key_recheck' });
        this.deps.log.warn({ err: describeError(err) }, 'key recheck failed; retrying');
      },
    });
  }

  /**
   * Reads `keyId` from the key store again for a session admitted on an
   * answer the key cache had before its last clear (a revocation notice may
   * have been lost meanwhile), and says what to do with it. What happened
   * during the read counts too: a notice handled meanwhile (it can overtake
   * the read's reply), a drain started meanwhile (its 1001 sweep did not see
   * this unregistered session), or another clear (the read may predate a
   * notice lost with it: read again).
   */
  async recheckAtOpen(session: Session, keyId: string): Promise<OpenVerdict> {
    for (;;) {
      const generation = this.deps.keys.generation;
      let status: ReturnType<typeof keyStatus>;
      try {
        const records = await this.deps.store.lookupByIds([keyId]);
        status = keyStatus(records.get(keyId) ?? null, this.now());
      } catch (err) {
        this.deps.log.warn({ err: describeError(err), connId: session.connId }, 'key recheck at open failed');
        return session.closed ? 'closed' : 'unavailable';
      }
      if (session.closed) return 'closed';
      // A key the store no longer has is served, as recheckHeldKeys does (Redis restarted without its data).
      if (status === 'revoked' || status === 'expired' || this.isRevoked(keyId)) return 'unauthorized';
      if (this.deps.isDraining()) return 'going_away';
      if (generation === this.deps.keys.generation) return 'serve';
    }
  }

  private async recheckHeldKeys(): Promise<void> {
    const keyIds = this.deps.registry.keyIds();
    const records = keyIds.length > 0 ? await this.deps.store.lookupByIds(keyIds) : new Map();
    const now = this.now();
    let revoked = 0;
    let expired = 0;
    for (const keyId of keyIds) {
      const status = keyStatus(records.get(keyId) ?? null, now);
      if (status === 'revoked') {
        revoked++;
        this.onKeyRevoked(keyId);
      } else if (status === 'expired') {
        expired++;
        this.closeForKey(keyId, this.deps.registry.sessionsOfKey(keyId), 'API key expired');
      }
    }
    this.deps.log.info({ keys: keyIds.length, revoked, expired }, 'held keys rechecked');
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}
