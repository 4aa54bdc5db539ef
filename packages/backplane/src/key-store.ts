import type { Scope } from '@hydra/protocol';

/** A stored API key. The plaintext key is never stored: only its SHA-256. */
export interface ApiKeyRecord {
  id: string;
  name: string | null;
  scopes: Scope[];
  /** epoch ms */
  createdAt: number;
  /** epoch ms, or null for a key that does not expire */
  expiresAt: number | null;
  /** epoch ms of revocation, or null */
  revokedAt: number | null;
}

export interface CreateKeyOptions {
  scopes: Scope[];
  name?: string | undefined;
  /** Lifetime in seconds from now; absent for a key that does not expire. */
  ttlSeconds?: number | undefined;
}

export interface CreatedKey {
  record: ApiKeyRecord;
  /** `hydra_k1_…`: returned once, at creation, never stored. */
  key: string;
}

export interface KeyStore {
  create(options: CreateKeyOptions): Promise<CreatedKey>;
  /** Finds the record of a plaintext key (hashed before lookup); null if unknown. Revoked and expired records are returned as they are. */
  lookup(key: string): Promise<ApiKeyRecord | null>;
  /**
   * Revokes by id or plaintext key and notifies every gateway (BusHandler.onKeyRevoked).
   * Returns the updated record, or null if no such key. Revoking twice is harmless.
   */
  revoke(idOrKey: string): Promise<ApiKeyRecord | null>;
  /**
   * The current records of these key ids (revoked and expired ones as they are); an id with no record is
   * absent from the map. For a gateway re-checking the keys of the connections it holds after it may have
   * missed revocation notices (its subscriber connection was down).
   */
  lookupByIds(ids: readonly string[]): Promise<Map<string, ApiKeyRecord>>;
  /** Every key record, newest first. */
  list(): Promise<ApiKeyRecord[]>;
}

export type KeyStatus = 'valid' | 'unknown' | 'revoked' | 'expired';

/** Whether a looked-up record may connect at `now` (epoch ms). */
export function keyStatus(record: ApiKeyRecord | null, now: number): KeyStatus {
  if (record === null) return 'unknown';
  if (record.revokedAt !== null) return 'revoked';
  if (record.expiresAt !== null && record.expiresAt <= now) return 'expired';
  return 'valid';
}
