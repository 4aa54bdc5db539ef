import { type ApiKeyRecord, type KeyStore, MemoryKeyStore } from '@hydra/backplane';
import { describe, expect, it } from 'vitest';
import { KeyCache } from './key-cache.js';
import { KeyRevocation } from './key-revocation.js';
import { createLogger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { Session } from './session.js';
import { SessionRegistry } from './session-registry.js';

/**
 * lookupByIds reads the store at once but answers only when the test releases it, so a test decides what
 * happens between the store's answer and the caller's resumption.
 */
class HeldStore implements Pick<KeyStore, 'lookupByIds'> {
  reads = 0;
  private held: (() => void)[] = [];
  failNext = false;

  constructor(private readonly store: KeyStore) {}

  async lookupByIds(ids: readonly string[]): Promise<Map<string, ApiKeyRecord>> {
    this.reads++;
    const fail = this.failNext;
    this.failNext = false;
    const answer = await this.store.lookupByIds(ids);
    await new Promise<void>((resolve) => this.held.push(resolve));
    if (fail) throw new Error('store unreachable');
    return answer;
  }

  /** Lets the reads made so far answer, once at least one is waiting (fails if none comes within a second). */
  async release(): Promise<void> {
    const deadline = performance.now() + 1000;
    while (this.held.length === 0) {
      if (performance.now() > deadline) throw new Error('no key-store read is waiting');
      await new Promise((r) => setImmediate(r));
    }
    for (const resolve of this.held.splice(0)) resolve();
  }
}

async function setup() {
  let now = 1_000_000;
  const store = new MemoryKeyStore({ now: () => now });
  const held = new HeldStore(store);
  const keys = new KeyCache(store, { ttlMs: 10_000, negativeTtlMs: 1000, now: () => now });
  const registry = new SessionRegistry(() => undefined);
  const rejected: { connId: number; code: string }[] = [];
  let draining = false;
  const revocation = new KeyRevocation({
    store: held,
    keys,
    registry,
    reject: (session, rejection) => rejected.push({ connId: session.connId, code: rejection.code }),
    isDraining: () => draining,
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    log: createLogger('silent'),
    now: () => now,
  });
  let nextConnId = 1;
  const session = (record: ApiKeyRecord) =>
    new Session({
      connId: nextConnId++,
      ip: '127.0.0.1',
      grant: record,
      wantSnapshot: false,
      resume: new Map(),
      rejection: null,
      slotHeld: false,
      keyGeneration: 0,
    });
  return {
    store,
    held,
    keys,
    registry,
    revocation,
    rejected,
    session,
    startDrain: () => {
      draining = true;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('KeyRevocation', () => {
  it('a notice closes every connection of the key, evicts it from the cache, and keeps it out of upgrades', async () => {
    const { store, keys, registry, revocation, rejected, session } = await setup();
    const revoked = await store.create({ scopes: ['signals'] });
    const other = await store.create({ scopes: ['signals'] });
    const [a, b, c] = [session(revoked.record), session(revoked.record), session(other.record)];
    for (const s of [a, b, c]) registry.add(s);
    await keys.lookup(revoked.key);

    revocation.onKeyRevoked(revoked.record.id);

    expect(rejected).toEqual([
      { connId: a.connId, code: 'unauthorized' },
      { connId: b.connId, code: 'unauthorized' },
    ]);
    expect(revocation.isRevoked(revoked.record.id)).toBe(true);
    expect(revocation.isRevoked(other.record.id)).toBe(false);
    expect(keys.peek(revoked.key)).toBeUndefined();
  });

  it('after a resubscribe, clears the cache and closes the held keys that are revoked or expired, not the others', async () => {
    const { store, held, keys, registry, revocation, rejected, session, advance } = await setup();
    const valid = await store.create({ scopes: ['signals'] });
    const revoked = await store.create({ scopes: ['signals'] });
    const expiring = await store.create({ scopes: ['signals'], ttlSeconds: 1 });
    const [v, r, e] = [session(valid.record), session(revoked.record), session(expiring.record)];
    for (const s of [v, r, e]) registry.add(s);
    await store.revoke(revoked.record.id); // its notice was lost with the subscriber
    advance(1000);

    revocation.recheckKeys();
    expect(keys.generation).toBe(1);
    await held.release();
    await new Promise((resolve) => setImmediate(resolve));

    expect(rejected).toEqual([
      { connId: r.connId, code: 'unauthorized' },
      { connId: e.connId, code: 'unauthorized' },
    ]);
    expect(revocation.isRevoked(revoked.record.id)).toBe(true);
  });

  describe('recheck at open of a session admitted on a key answer from before a cache clear', () => {
    it('serves a valid key, refuses a revoked one, answers unavailable when the store cannot be read', async () => {
      const { store, held, revocation, session } = await setup();
      const valid = await store.create({ scopes: ['signals'] });
      const revoked = await store.create({ scopes: ['signals'] });
      await store.revoke(revoked.record.id);

      const serve = revocation.recheckAtOpen(session(valid.record), valid.record.id);
      const refuse = revocation.recheckAtOpen(session(revoked.record), revoked.record.id);
      await held.release();
      expect(await serve).toBe('serve');
      expect(await refuse).toBe('unauthorized');

      held.failNext = true;
      const unreadable = revocation.recheckAtOpen(session(valid.record), valid.record.id);
      await held.release();
      expect(await unreadable).toBe('unavailable');
    });

    it('refuses a key whose revocation notice was handled during the read (the notice overtook the reply)', async () => {
      const { store, held, revocation, session } = await setup();
      const k = await store.create({ scopes: ['signals'] });
      const opening = revocation.recheckAtOpen(session(k.record), k.record.id);
      await held.release(); // the store answers "valid"…
      revocation.onKeyRevoked(k.record.id); // …but the notice is handled before that answer is
      expect(await opening).toBe('unauthorized');
    });

    it('says going_away when a drain started during the read (the drain did not see this session)', async () => {
      const { store, held, revocation, session, startDrain } = await setup();
      const k = await store.create({ scopes: ['signals'] });
      const opening = revocation.recheckAtOpen(session(k.record), k.record.id);
      startDrain();
      await held.release();
      expect(await opening).toBe('going_away');
    });

    it('reads again when the cache was cleared during the read (a notice may have been lost with it)', async () => {
      const { store, held, keys, revocation, session } = await setup();
      const k = await store.create({ scopes: ['signals'] });
      const opening = revocation.recheckAtOpen(session(k.record), k.record.id);
      await store.revoke(k.record.id); // after the read was answered by the store, its notice lost…
      keys.clear(); // …with the subscriber, which resubscribed: another clear
      await held.release();
      await held.release(); // the second read sees the revocation
      expect(await opening).toBe('unauthorized');
      expect(held.reads).toBe(2);
    });

    it('does nothing for a session that closed during the read', async () => {
      const { store, held, revocation, session } = await setup();
      const k = await store.create({ scopes: ['signals'] });
      const s = session(k.record);
      const opening = revocation.recheckAtOpen(s, k.record.id);
      s.closed = true;
      await held.release();
      expect(await opening).toBe('closed');
    });
  });
});
