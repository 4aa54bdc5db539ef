import type { ApiKeyRecord, KeyStore } from '@hydra/backplane';
import { describe, expect, it } from 'vitest';
import { KeyCache } from './key-cache.js';

const record: ApiKeyRecord = {
  id: 'k1',
  scopes: ['aircraft'],
  name: 'test',
  createdAt: 0,
  expiresAt: null,
  revokedAt: null,
};

/** A key store that answers `record` for 'good' and counts its reads. */
function countingStore(): { store: KeyStore; reads: () => number } {
  let reads = 0;
  const store = {
    lookup: async (key: string) => {
      reads++;
      return key === 'good' ? record : null;
    },
  } as unknown as KeyStore;
  return { store, reads: () => reads };
}

describe('KeyCache', () => {
  it('reads the store once per ttl, and times only the store reads (misses), not the hits', async () => {
    const { store, reads } = countingStore();
    let now = 1000;
    let timed = 0;
    const cache = new KeyCache(store, {
      ttlMs: 10_000,
      negativeTtlMs: 2000,
      now: () => now,
      timeStoreRead: (read) => {
        timed++;
        return read();
      },
    });
    for (let i = 0; i < 100; i++) expect(await cache.lookup('good')).toBe(record);
    expect(reads()).toBe(1);
    expect(timed).toBe(1);
    now += 10_001;
    await cache.lookup('good');
    expect(reads()).toBe(2);
    expect(timed).toBe(2);
  });

  it('shares one store read between concurrent lookups of a key', async () => {
    const { store, reads } = countingStore();
    const cache = new KeyCache(store, { ttlMs: 10_000, negativeTtlMs: 2000 });
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.lookup('good')));
    expect(results.every((r) => r === record)).toBe(true);
    expect(reads()).toBe(1);
  });

  it('caches unknown keys for the negative ttl and forgets a revoked key at once', async () => {
    const { store, reads } = countingStore();
    let now = 0;
    const cache = new KeyCache(store, { ttlMs: 10_000, negativeTtlMs: 2000, now: () => now });
    expect(await cache.lookup('unknown')).toBeNull();
    expect(await cache.lookup('unknown')).toBeNull();
    expect(reads()).toBe(1);
    now += 2001;
    await cache.lookup('unknown');
    expect(reads()).toBe(2);
    await cache.lookup('good');
    cache.evictKeyId('k1');
    await cache.lookup('good');
    expect(reads()).toBe(4);
  });

  it('peek answers from the cache only: found (record or null) or undefined, never a store read', async () => {
    const { store, reads } = countingStore();
    let now = 0;
    const cache = new KeyCache(store, { ttlMs: 10_000, negativeTtlMs: 2000, now: () => now });
    expect(cache.peek('good')).toBeUndefined();
    expect(cache.peek('unknown')).toBeUndefined();
    await cache.lookup('good');
    await cache.lookup('unknown');
    expect(cache.peek('good')).toEqual({ record });
    expect(cache.peek('unknown')).toEqual({ record: null });
    now += 2001;
    expect(cache.peek('unknown')).toBeUndefined();
    expect(cache.peek('good')).toEqual({ record });
    expect(reads()).toBe(2);
  });

  it('clear forgets every entry, and a read in flight during it is answered but not remembered', async () => {
    let release: (r: ApiKeyRecord) => void = () => undefined;
    let reads = 0;
    const store = {
      lookup: () => {
        reads++;
        return new Promise<ApiKeyRecord>((resolve) => {
          release = resolve;
        });
      },
    } as unknown as KeyStore;
    const cache = new KeyCache(store, { ttlMs: 10_000, negativeTtlMs: 2000 });
    const stale = cache.lookup('good');
    cache.clear();
    release(record); // read before the clear: e.g. a revocation notice was missed meanwhile
    expect(await stale).toBe(record);
    expect(cache.peek('good')).toBeUndefined();
    const fresh = cache.lookup('good');
    release({ ...record, revokedAt: 5 });
    expect((await fresh)?.revokedAt).toBe(5);
    expect(cache.peek('good')?.record?.revokedAt).toBe(5);
    expect(reads).toBe(2);
  });
});
