import { createHash } from 'node:crypto';
import type { ApiKeyRecord, KeyStore } from '@hydra/backplane';

interface CacheEntry {
  record: ApiKeyRecord | null;
  until: number;
}

/**
 * A short-lived cache in front of the key store (guarantee 3): found keys for
 * `ttlMs`, unknown keys for `negativeTtlMs`. Entries are held by the key's
 * SHA-256, never the plaintext. Concurrent lookups of one key share one
 * backplane read. Revocation notices evict a key at once (`evictKeyId`);
 * expiry is judged from the record at use, not from the cache age.
 */
export class KeyCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly hashById = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<ApiKeyRecord | null>>();

  constructor(
    private readonly store: KeyStore,
    private readonly options: {
      ttlMs: number;
      negativeTtlMs: number;
      maxEntries?: number;
      now?: () => number;
      onLookup?: (result: 'hit' | 'miss') => void;
      /** Wraps each key-store read (a miss), e.g. to time the Redis round trip; hits never reach it. */
      timeStoreRead?: (read: () => Promise<ApiKeyRecord | null>) => Promise<ApiKeyRecord | null>;
    },
  ) {}

  async lookup(key: string): Promise<ApiKeyRecord | null> {
    const hash = createHash('sha256').update(key).digest('hex');
    const now = (this.options.now ?? Date.now)();
    const cached = this.entries.get(hash);
    if (cached && cached.until > now) {
      this.options.onLookup?.('hit');
      return cached.record;
    }
    this.options.onLookup?.('miss');
    const pending = this.inflight.get(hash);
    if (pending) return pending;
    const storeRead = () => this.store.lookup(key);
    const read = (this.options.timeStoreRead ? this.options.timeStoreRead(storeRead) : storeRead())
      .then((record) => {
        this.remember(hash, record, (this.options.now ?? Date.now)());
        return record;
      })
      .finally(() => this.inflight.delete(hash));
    this.inflight.set(hash, read);
    return read;
  }

  /** Forgets a key by id (it was revoked): the next lookup reads the store. */
  evictKeyId(keyId: string): void {
    const hash = this.hashById.get(keyId);
    if (hash === undefined) return;
    this.entries.delete(hash);
    this.hashById.delete(keyId);
  }

  private remember(hash: string, record: ApiKeyRecord | null, now: number): void {
    const ttl = record ? this.options.ttlMs : this.options.negativeTtlMs;
    if (ttl <= 0) return;
    const max = this.options.maxEntries ?? 100_000;
    if (this.entries.size >= max) {
      // Oldest-first eviction keeps memory bounded under a flood of random keys.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, { record, until: now + ttl });
    if (record) this.hashById.set(record.id, hash);
  }
}
