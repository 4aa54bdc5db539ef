import { REDIS_PREFIX, redisKeys } from '@hydra/backplane';
import type { Redis } from 'ioredis';

/** What Redis holds at one moment: its memory, the connection limiter's keys and live slots, and the data's size. */
export interface RedisFootprint {
  /** INFO memory used_memory, bytes. */
  usedMemory: number;
  /** Per-IP limiter hashes (redisKeys.ipConnections). */
  limiterKeys: number;
  /** Slots whose lease is live (field <nodeId> of a hash whose <nodeId>#exp is after Redis TIME), summed. */
  heldSlots: number;
  /** Every other key: scope seqs, state, recent events, history streams, API keys, retention. */
  dataKeys: number;
  /** MEMORY USAGE (SAMPLES 0: exact) of those keys, summed: what the published events and keys account for. */
  dataBytes: number;
}

const LIMITER_PREFIX = redisKeys.ipConnections('').slice(0, -2); // `hydra:ip:` (the IP sits in a hash tag)

export async function redisFootprint(redis: Redis): Promise<RedisFootprint> {
  const info = await redis.info('memory');
  const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
  const [secs, micros] = (await redis.time()) as [string | number, string | number];
  const now = Number(secs) * 1000 + Math.floor(Number(micros) / 1000);
  let limiterKeys = 0;
  let heldSlots = 0;
  let dataKeys = 0;
  let dataBytes = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (key.startsWith(LIMITER_PREFIX)) {
        limiterKeys++;
        const fields = await redis.hgetall(key);
        for (const [field, value] of Object.entries(fields)) {
          if (field.endsWith('#exp')) continue;
          if (Number(fields[`${field}#exp`] ?? 0) > now) heldSlots += Number(value);
        }
      } else {
        dataKeys++;
        dataBytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
      }
    }
  } while (cursor !== '0');
  return { usedMemory, limiterKeys, heldSlots, dataKeys, dataBytes };
}
