import { isWellFormedApiKey } from '@hydra/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey, type KeyStore, KeyStoreError, keyStatus } from '../src/index.js';

/** One backend under test, on empty state. */
export interface KeyStoreFixture {
  store: KeyStore;
  /** Resolves once this backend's revocation notice for `keyId` was observed (Redis: control channel). */
  revocationNotice(keyId: string): Promise<void>;
  /** Every stored key name and value (Redis: the whole database; memory: the injected maps), to check that no plaintext key is kept. */
  dumpStorage(): Promise<string[]>;
  close(): Promise<void>;
}

/** Builds a fixture whose store reads time from `now`. */
export type KeyStoreFactory = (options: { now: () => number }) => Promise<KeyStoreFixture>;

const T0 = 1_700_000_000_000;
/** Well-formed, and (with overwhelming probability) never generated. */
const UNKNOWN_KEY = `hydra_k1_${'A'.repeat(43)}`;

/** The KeyStore contract every backend passes, unchanged. */
export function keyStoreContract(name: string, factory: KeyStoreFactory): void {
  describe(`KeyStore contract: ${name}`, () => {
    let now = T0;
    let fixture: KeyStoreFixture;
    let store: KeyStore;

    beforeEach(async () => {
      now = T0;
      fixture = await factory({ now: () => now });
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.close();
    });

    it('create returns a hydra_k1_ key once, with its record', async () => {
      const created = await store.create({ scopes: ['aircraft', 'signals', 'aircraft'], name: 'ops' });
      expect(created.key).toMatch(/^hydra_k1_[A-Za-z0-9_-]{43}$/);
      expect(isWellFormedApiKey(created.key)).toBe(true);
      expect(created.record).toEqual({
        id: expect.stringMatching(/^key_[0-9a-f]{16}$/),
        name: 'ops',
        scopes: ['signals', 'aircraft'],
        createdAt: T0,
        expiresAt: null,
        revokedAt: null,
      });
      expect(JSON.stringify(created.record)).not.toContain(created.key);

      const other = await store.create({ scopes: ['alerts'] });
      expect(other.key).not.toBe(created.key);
      expect(other.record.id).not.toBe(created.record.id);
      expect(other.record.name).toBeNull();
    });

    it('looks a record up by its key; unknown and malformed keys give null', async () => {
      const { key, record } = await store.create({ scopes: ['vessels'], ttlSeconds: 60 });
      expect(await store.lookup(key)).toEqual(record);
      expect(isWellFormedApiKey(UNKNOWN_KEY)).toBe(true);
      expect(await store.lookup(UNKNOWN_KEY)).toBeNull();
      expect(await store.lookup('hydra_k1_short')).toBeNull();
      expect(await store.lookup('')).toBeNull();
      expect(await store.lookup(hashApiKey(key))).toBeNull();
      expect(await store.lookup(record.id)).toBeNull();
    });

    it('keyStatus: valid, expired at expiresAt (record kept), revoked', async () => {
      const { key, record } = await store.create({ scopes: ['cyber'], ttlSeconds: 60 });
      expect(record.expiresAt).toBe(T0 + 60_000);
      expect(keyStatus(await store.lookup(key), T0 + 59_999)).toBe('valid');

      now = T0 + 60_000;
      const expired = await store.lookup(key);
      expect(expired).toEqual(record);
      expect(keyStatus(expired, now)).toBe('expired');
      expect((await store.list()).map((r) => r.id)).toContain(record.id);

      const forever = await store.create({ scopes: ['cyber'] });
      expect(keyStatus(await store.lookup(forever.key), T0 + 10 * 365 * 86_400_000)).toBe('valid');
      await store.revoke(forever.record.id);
      expect(keyStatus(await store.lookup(forever.key), now)).toBe('revoked');
      expect(keyStatus(await store.lookup('hydra_k1_nope'), now)).toBe('unknown');
    });

    it('revokes by id and by key; revoking twice keeps the first revokedAt', async () => {
      const a = await store.create({ scopes: ['signals'] });
      const b = await store.create({ scopes: ['signals'] });

      now = T0 + 1_000;
      expect(await store.revoke(a.record.id)).toEqual({ ...a.record, revokedAt: T0 + 1_000 });
      expect(await store.revoke(b.key)).toEqual({ ...b.record, revokedAt: T0 + 1_000 });

      now = T0 + 2_000;
      expect((await store.revoke(a.key))?.revokedAt).toBe(T0 + 1_000);
      expect((await store.revoke(b.record.id))?.revokedAt).toBe(T0 + 1_000);
      expect((await store.lookup(a.key))?.revokedAt).toBe(T0 + 1_000);
    });

    it('revoke of an unknown id or key gives null and creates nothing', async () => {
      const { key } = await store.create({ scopes: ['signals'] });
      const before = await store.list();
      expect(await store.revoke('key_0123456789abcdef')).toBeNull();
      expect(await store.revoke(UNKNOWN_KEY)).toBeNull();
      expect(await store.revoke(hashApiKey(key))).toBeNull();
      expect(await store.revoke('nonsense')).toBeNull();
      expect(await store.revoke('')).toBeNull();
      expect(await store.list()).toEqual(before);
    });

    it('notifies every gateway of a revocation', async () => {
      const { record, key } = await store.create({ scopes: ['alerts'] });
      const noticed = fixture.revocationNotice(record.id);
      await store.revoke(key);
      await noticed;
    });

    it('looks records up by id, revoked and expired as they are; unknown ids are absent', async () => {
      const a = await store.create({ scopes: ['signals'], ttlSeconds: 1 });
      const b = await store.create({ scopes: ['alerts'] });
      const c = await store.create({ scopes: ['cyber'] });
      now = T0 + 5_000;
      await store.revoke(b.record.id);
      const found = await store.lookupByIds([a.record.id, b.record.id, 'key_0123456789abcdef', 'nonsense', '']);
      expect([...found.keys()].sort()).toEqual([a.record.id, b.record.id].sort());
      expect(keyStatus(found.get(a.record.id) ?? null, now)).toBe('expired');
      expect(found.get(b.record.id)).toEqual({ ...b.record, revokedAt: T0 + 5_000 });
      expect(found.has(c.record.id)).toBe(false);
      expect((await store.lookupByIds([])).size).toBe(0);
    });

    it('lists every record newest first, expired and revoked included', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        now = T0 + i * 1_000;
        ids.push((await store.create({ scopes: ['signals'], name: `k${i}`, ttlSeconds: 1 })).record.id);
      }
      await store.revoke(ids[1]!);
      now = T0 + 100_000;
      const listed = await store.list();
      expect(listed.map((r) => r.id)).toEqual([...ids].reverse());
      expect(listed.map((r) => r.name)).toEqual(['k3', 'k2', 'k1', 'k0']);
      expect(listed.map((r) => keyStatus(r, now))).toEqual(['expired', 'expired', 'revoked', 'expired']);
    });

    it('refuses invalid options with a KeyStoreError and stores nothing', async () => {
      const bad = [
        { scopes: [] },
        { scopes: ['weather'] },
        { scopes: ['signals'], ttlSeconds: 0 },
        { scopes: ['signals'], ttlSeconds: -5 },
        { scopes: ['signals'], ttlSeconds: Number.NaN },
        { scopes: ['signals'], name: 'x'.repeat(1_000) },
      ];
      for (const options of bad) {
        // biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed input
        await expect(store.create(options as any)).rejects.toMatchObject({ code: 'invalid-options' });
        // biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed input
        await expect(store.create(options as any)).rejects.toBeInstanceOf(KeyStoreError);
      }
      expect(await store.list()).toEqual([]);
    });

    it('stores no plaintext key anywhere', async () => {
      const created = await Promise.all([
        store.create({ scopes: ['signals'], name: 'one' }),
        store.create({ scopes: ['aircraft'], ttlSeconds: 5 }),
      ]);
      await store.revoke(created[0]!.key);
      const stored = (await fixture.dumpStorage()).join('\n');
      expect(stored).toContain(hashApiKey(created[1]!.key));
      for (const { key } of created) {
        expect(stored).not.toContain(key);
        expect(stored).not.toContain(key.slice('hydra_k1_'.length));
      }
    });
  });
}
