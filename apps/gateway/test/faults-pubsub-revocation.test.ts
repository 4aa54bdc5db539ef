import { encodeControlNotice, hashApiKey, redisChannels, redisKeys } from '@hydra/backplane';
import { CloseCode } from '@hydra/protocol';
import type { GatewayProcess, StreamClient } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Subscriber reconnect (first retry after 50 ms) + the recheck's two round trips, with room for a loaded box. */
const RECHECK_BOUND_MS = 5000;

/**
 * Pub/sub is at-most-once: a revocation notice published while a gateway's
 * subscriber connection is down reaches nobody. The gateway must still close
 * the revoked key's connections once it re-subscribes (it re-reads the keys
 * it holds), and must not admit the key from a stale "valid" cache entry.
 */
describe('a revocation published while the gateways’ subscribers are disconnected', () => {
  let f: StreamFixture;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    f = await StreamFixture.start();
    // A long positive cache TTL: without the cache being emptied, a revoked key would be admitted for a minute.
    const env = { HYDRA_KEY_CACHE_TTL_MS: '60000' };
    [a, b] = await Promise.all([f.gateway(env), f.gateway(env)]);
  });
  afterAll(async () => {
    await f?.stop();
  });

  const connected = (c: StreamClient) => c.waitFor((m) => m.type === 'connected');

  it('closes its live connections on both gateways with error + 1008 after the resubscribe; a bystander stays', async () => {
    const revoked = await f.key(['signals']);
    const cachedOnly = await f.key(['signals']);
    const bystanderKey = await f.key(['signals']);
    const onA = f.client(withKey(a.url, revoked.key, '&snapshot=false'));
    const onB = f.client(withKey(b.url, revoked.key, '&snapshot=false'));
    const bystander = f.client(withKey(b.url, bystanderKey.key, '&snapshot=false'));
    // `cachedOnly` is looked up (and cached as valid) by gateway a, then holds no connection there.
    const warm = f.client(withKey(a.url, cachedOnly.key, '&snapshot=false'));
    await Promise.all([onA, onB, bystander, warm].map(connected));
    await warm.close();

    // Kill every subscriber connection and store both revocations in ONE transaction, so the notices are
    // certain to find no subscriber (killing first and revoking "right after" races the 50 ms reconnect).
    // The revocation's two effects are those of keys.revoke: `revokedAt` on the record, then the notice.
    const redis = f.redis.client();
    const now = Date.now();
    const tx = redis.multi().client('KILL', 'TYPE', 'pubsub');
    for (const k of [revoked, cachedOnly]) {
      tx.hset(redisKeys.apiKeyByHash(hashApiKey(k.key)), 'revokedAt', String(now));
      tx.publish(redisChannels.control(), encodeControlNotice({ type: 'key-revoked', keyId: k.id }));
    }
    const startedAt = performance.now();
    const results = (await tx.exec())?.map(([err, value]) => (err ? err.message : value));
    expect(results?.[0]).toBe(2); // both gateways' subscribers
    expect([results?.[2], results?.[4]]).toEqual([0, 0]); // the notices reached no one

    for (const c of [onA, onB]) {
      await c.until(() => c.closeCode !== null, RECHECK_BOUND_MS, 'the revoked key’s close');
      expect(c.closeCode).toBe(CloseCode.Unauthorized);
      expect(c.ofType('error').map((m) => m.data)).toEqual([
        { code: 'unauthorized', message: 'invalid, expired, or revoked API key' },
      ]);
    }
    expect(performance.now() - startedAt).toBeLessThan(RECHECK_BOUND_MS);
    for (const gw of [a, b]) {
      const line = await gw.waitForLog((l) => l.msg === 'held keys rechecked');
      expect(line).toMatchObject({ revoked: 1, expired: 0 });
    }

    // The bystander was not touched and still receives live events after the resubscribe.
    const seq = await f.publish('signals', { kind: 'osint', label: 'after the blip' });
    await bystander.waitFor((m) => m.type === 'signals' && m.seq === seq);
    expect(bystander.closeCode).toBeNull();

    // Gateway a had cached `cachedOnly` as valid for a minute: that entry was dropped with the resubscribe.
    const late = f.client(withKey(a.url, cachedOnly.key, '&snapshot=false'));
    await late.until(() => late.closeCode !== null || late.messages.length > 0, 5000, 'an answer');
    expect(late.messages[0]?.type).toBe('error');
    expect((await late.closed).code).toBe(CloseCode.Unauthorized);
    // And a revocation published now, on the renewed subscription, still works as before.
    const next = await f.key(['signals']);
    const after = f.client(withKey(b.url, next.key, '&snapshot=false'));
    await connected(after);
    await f.backplane.keys.revoke(next.id);
    expect((await after.closed).code).toBe(CloseCode.Unauthorized);
    expect(bystander.closeCode).toBeNull();
  });
});
