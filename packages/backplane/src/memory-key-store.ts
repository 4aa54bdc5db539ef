import { isWellFormedApiKey } from '@hydra/protocol';
import { hashApiKey } from './api-key-secret.js';
import type { ApiKeyRecord, CreatedKey, CreateKeyOptions, KeyStore } from './key-store.js';
import { compareNewestFirst, newKeyRecord } from './new-key-record.js';

/**
 * Where a MemoryKeyStore keeps its records: injectable, so a test can see
 * everything the store holds (and check that no plaintext key is among it).
 */
export interface MemoryKeyStorage {
  /** SHA-256 of the key (hex) → record. */
  readonly byHash: Map<string, ApiKeyRecord>;
  /** Key id → SHA-256 of the key, so revoke(id) works. */
  readonly hashById: Map<string, string>;
}

export interface MemoryKeyStoreOptions {
  /**
   * Called on every revoke() that found its key (the memory counterpart of the
   * Redis control notice; repeated revocations notify again, harmlessly).
   * Must not throw.
   */
  onRevoked?: (keyId: string) => void;
  /** Clock (epoch ms) for createdAt, expiresAt and revokedAt; defaults to Date.now. */
  now?: () => number;
  /** Defaults to new, empty maps owned by the store. */
  storage?: MemoryKeyStorage;
}

/**
 * KeyStore for one process (embedded mode and tests). Same semantics as
 * RedisKeyStore: records are indexed by the SHA-256 of the key only, the
 * plaintext is never kept, expired and revoked records stay listed, and
 * revoking keeps the first revokedAt. Records are returned as copies.
 */
export class MemoryKeyStore implements KeyStore {
  readonly #byHash: Map<string, ApiKeyRecord>;
  readonly #hashById: Map<string, string>;
  readonly #onRevoked: ((keyId: string) => void) | undefined;
  readonly #now: () => number;

  constructor(options: MemoryKeyStoreOptions = {}) {
    this.#onRevoked = options.onRevoked;
    this.#now = options.now ?? Date.now;
    this.#byHash = options.storage?.byHash ?? new Map();
    this.#hashById = options.storage?.hashById ?? new Map();
  }

  async create(options: CreateKeyOptions): Promise<CreatedKey> {
    const { key, keyHash, record } = newKeyRecord(options, this.#now());
    this.#byHash.set(keyHash, record);
    this.#hashById.set(record.id, keyHash);
    return { key, record: copy(record) };
  }

  async lookup(key: string): Promise<ApiKeyRecord | null> {
    if (!isWellFormedApiKey(key)) return null;
    const record = this.#byHash.get(hashApiKey(key));
    return record ? copy(record) : null;
  }

  async revoke(idOrKey: string): Promise<ApiKeyRecord | null> {
    const keyHash = isWellFormedApiKey(idOrKey) ? hashApiKey(idOrKey) : this.#hashById.get(idOrKey);
    const record = keyHash === undefined ? undefined : this.#byHash.get(keyHash);
    if (!record) return null;
    record.revokedAt ??= this.#now();
    this.#onRevoked?.(record.id);
    return copy(record);
  }

  async lookupByIds(ids: readonly string[]): Promise<Map<string, ApiKeyRecord>> {
    const found = new Map<string, ApiKeyRecord>();
    for (const id of ids) {
      const keyHash = this.#hashById.get(id);
      const record = keyHash === undefined ? undefined : this.#byHash.get(keyHash);
      if (record) found.set(id, copy(record));
    }
    return found;
  }

  async list(): Promise<ApiKeyRecord[]> {
    return [...this.#byHash.values()].map(copy).sort(compareNewestFirst);
  }
}

function copy(record: ApiKeyRecord): ApiKeyRecord {
  return { ...record, scopes: [...record.scopes] };
}
