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
 * expiry is judged from the record at use, not from the cache age. After
 * notices may have been missed (the gateway's subscriber reconnected),
 * `clear()` forgets everything, including what reads in flight return.
 */
export class KeyCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly hashById = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<ApiKeyRecord | null>>();
  /** Bumped by clear(): a read started before it is returned to its caller but not remembered. */
  #generation = 0;

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
    const hash = hashOf(key);
    const cached = this.fresh(hash);
    if (cached) {
      this.options.onLookup?.('hit');
      return cached.record;
    }
    this.options.onLookup?.('miss');
    const pending = this.inflight.get(hash);
    if (pending) return pending;
    const generation = this.#generation;
    const storeRead = () => this.store.lookup(key);
    const read = (this.options.timeStoreRead ? this.options.timeStoreRead(storeRead) : storeRead())
      .then((record) => {
        if (generation === this.#generation) this.remember(hash, record, (this.options.now ?? Date.now)());
        return record;
      })
      .finally(() => {
        if (this.inflight.get(hash) === read) this.inflight.delete(hash);
      });
    this.inflight.set(hash, read);
    return read;
  }

  /**
   * What the cache holds for `key` now, without reading the store: `{ record }` (null for a key the store
   * did not know) or undefined when nothing fresh is cached. Counted as a hit when found.
   */
  peek(key: string): { record: ApiKeyRecord | null } | undefined {
    const cached = this.fresh(hashOf(key));
    if (!cached) return undefined;
    this.options.onLookup?.('hit');
    return { record: cached.record };
  }

  /**
   * How many times the cache was cleared. An answer obtained under an older
   * generation (from the cache or a read in flight) may predate a revocation
   * the clear was made for: its user must check the key again.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Forgets every entry; reads in flight still answer their callers but are not remembered. */
  clear(): void {
    this.#generation++;
    this.entries.clear();
    this.hashById.clear();
    this.inflight.clear();
  }

  /** Forgets a key by id (it was revoked): the next lookup reads the store. */
  evictKeyId(keyId: string): void {
    const hash = this.hashById.get(keyId);
    if (hash === undefined) return;
    this.entries.delete(hash);
    this.hashById.delete(keyId);
  }

  private fresh(hash: string): CacheEntry | undefined {
    const cached = this.entries.get(hash);
    return cached && cached.until > (this.options.now ?? Date.now)() ? cached : undefined;
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

function hashOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
