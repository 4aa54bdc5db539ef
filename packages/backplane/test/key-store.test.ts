import { startRedis, type TestRedis } from '@hydra/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeControlNotice,
  hashApiKey,
  KeyStoreError,
  type MemoryKeyStorage,
  MemoryKeyStore,
  RedisKeyStore,
  redisChannels,
  redisKeys,
} from '../src/index.js';
import { keyStoreContract } from './key-store.contract.js';

let testRedis: TestRedis;
let admin: Redis;

beforeAll(async () => {
  testRedis = await startRedis();
  admin = testRedis.client();
});

afterAll(async () => {
  await testRedis?.stop();
});

/** Resolves `wait(id)` once a notice for `id` was seen; `seen` is kept for notices that came first. */
function noticeWaiter() {
  const seen = new Set<string>();
  const waiters = new Map<string, () => void>();
  return {
    notice(keyId: string) {
      seen.add(keyId);
      waiters.get(keyId)?.();
    },
    wait(keyId: string) {
      return new Promise<void>((resolve) => {
        if (seen.has(keyId)) resolve();
        else waiters.set(keyId, resolve);
      });
    },
  };
}

/** Every key name and every value stored in Redis, whatever the type. */
async function dumpRedis(redis: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      out.push(key);
      const type = await redis.type(key);
      if (type === 'string') out.push((await redis.get(key)) ?? '');
      else if (type === 'hash') out.push(...Object.entries(await redis.hgetall(key)).flat());
      else if (type === 'set') out.push(...(await redis.smembers(key)));
      else if (type === 'zset') out.push(...(await redis.zrange(key, 0, -1)));
      else if (type === 'list') out.push(...(await redis.lrange(key, 0, -1)));
      else out.push(`<${type}>`);
    }
  } while (cursor !== '0');
  return out;
}

keyStoreContract('redis', async ({ now }) => {
  await admin.flushall();
  const redis = new Redis(testRedis.url, { maxRetriesPerRequest: 1 });
  const subscriber = new Redis(testRedis.url, { maxRetriesPerRequest: 1 });
  const notices = noticeWaiter();
  subscriber.on('message', (_channel: string, message: string) => {
    const notice = decodeControlNotice(message);
    if (notice) notices.notice(notice.keyId);
  });
  await subscriber.subscribe(redisChannels.control());
  return {
    store: new RedisKeyStore(redis, { now }),
    revocationNotice: notices.wait,
    dumpStorage: () => dumpRedis(admin),
    close: async () => {
      await Promise.all([redis.quit(), subscriber.quit()]);
    },
  };
});

keyStoreContract('memory', async ({ now }) => {
  const notices = noticeWaiter();
  const storage: MemoryKeyStorage = { byHash: new Map(), hashById: new Map() };
  return {
    store: new MemoryKeyStore({ now, onRevoked: notices.notice, storage }),
    revocationNotice: notices.wait,
    dumpStorage: async () => [
      ...[...storage.byHash].flatMap(([hash, record]) => [hash, JSON.stringify(record)]),
      ...[...storage.hashById].flat(),
    ],
    close: async () => {},
  };
});

describe('RedisKeyStore errors', () => {
  it('never carry the key or its hash', async () => {
    await admin.flushall();
    const redis = testRedis.client();
    const store = new RedisKeyStore(redis);
    const { key } = await store.create({ scopes: ['signals'] });
    const hash = hashApiKey(key);
    // A record of the wrong type makes every command on it fail with WRONGTYPE;
    // ioredis attaches the failed command (whose key name holds the hash) to its error.
    await admin.del(redisKeys.apiKeyByHash(hash));
    await admin.set(redisKeys.apiKeyByHash(hash), 'not a hash');

    for (const attempt of [() => store.lookup(key), () => store.revoke(key)]) {
      const error: unknown = await attempt().then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(KeyStoreError);
      const err = error as KeyStoreError;
      expect(err.code).toBe('backend');
      expect(err.message).toMatch(/WRONGTYPE/);
      const everything = [err.message, err.stack, JSON.stringify(err), String(err.cause)].join('\n');
      expect(everything).not.toContain(key);
      expect(everything).not.toContain(hash);
    }
  });

  it('reject, scrubbed, when Redis is unreachable', async () => {
    const redis = new Redis(testRedis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    await redis.connect();
    redis.disconnect();
    const store = new RedisKeyStore(redis);
    const key = `hydra_k1_${'A'.repeat(43)}`;
    const err = await store.lookup(key).then(
      () => null,
      (e: unknown) => e as KeyStoreError,
    );
    expect(err).toBeInstanceOf(KeyStoreError);
    expect(err?.message).not.toContain(hashApiKey(key));
  });
});
