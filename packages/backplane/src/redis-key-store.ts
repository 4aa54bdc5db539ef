import { readFileSync } from 'node:fs';
import { isScope, isWellFormedApiKey } from '@hydra/protocol';
import { hashApiKey, isKeyIdFormat } from './api-key-secret.js';
import { encodeControlNotice } from './control-notice.js';
import type { ApiKeyRecord, CreatedKey, CreateKeyOptions, KeyStore } from './key-store.js';
import { backendCall } from './key-store-error.js';
import { compareNewestFirst, newKeyRecord } from './new-key-record.js';
import { execRouted, type RedisClient } from './redis-connections.js';
import { redisChannels, redisKeys } from './redis-keys.js';

export interface RedisKeyStoreOptions {
  /** Clock (epoch ms) for createdAt, expiresAt and revokedAt; defaults to Date.now. */
  now?: () => number;
}

const REVOKE_COMMAND = 'hydraKeyRevoke';
const REVOKE_LUA = readFileSync(new URL('../lua/key-revoke.lua', import.meta.url), 'utf8');
/** Records fetched per pipeline round trip by list(). */
const LIST_BATCH = 500;

type RevokeCommand = (recordKey: string, revokedAt: number) => Promise<string[]>;

/**
 * KeyStore on Redis. Layout (names from redis-keys.ts):
 *
 * - `apiKeyByHash(sha256)` HASH: `id`, `scopes` (csv), `createdAt`, and when
 *   set `name`, `expiresAt`, `revokedAt` (epoch ms). The plaintext key is
 *   never written anywhere, not even in a key name: only its SHA-256.
 * - `apiKeyIdIndex(id)` STRING → the SHA-256, so `keys revoke <id>` works.
 * - `apiKeyIds()` SET of ids, for `keys list`.
 *
 * Records are kept after expiry and revocation (nothing is deleted): `list()`
 * shows them, and keyStatus() reports them as expired or revoked. Deleting
 * them would turn an expired key into an unknown one and lose the audit trail.
 *
 * create() writes index, set, then record, in that order in one pipeline (the
 * three keys hash to different cluster slots, so no MULTI): a key becomes
 * usable only once it is listed and revocable by id; a failure in between
 * leaves at most a dangling id, which list() skips, and the caller never sees
 * the plaintext of a key whose creation failed.
 *
 * revoke() sets `revokedAt` atomically only if unset (lua/key-revoke.lua),
 * then publishes `{type:'key-revoked', keyId}` on `redisChannels.control()`;
 * it publishes on every call that finds the key, so re-running a revoke also
 * re-notifies gateways that might have missed the first notice.
 *
 * Every error is a KeyStoreError whose message holds neither key nor hash.
 */
export class RedisKeyStore implements KeyStore {
  readonly #redis: RedisClient;
  readonly #now: () => number;
  readonly #revoke: RevokeCommand;

  constructor(redis: RedisClient, options: RedisKeyStoreOptions = {}) {
    this.#redis = redis;
    this.#now = options.now ?? Date.now;
    redis.defineCommand(REVOKE_COMMAND, { numberOfKeys: 1, lua: REVOKE_LUA });
    const command = (redis as unknown as Record<string, RevokeCommand>)[REVOKE_COMMAND]!;
    this.#revoke = command.bind(redis);
  }

  async create(options: CreateKeyOptions): Promise<CreatedKey> {
    const { key, keyHash, record } = newKeyRecord(options, this.#now());
    const fields: Record<string, string> = {
      id: record.id,
      scopes: record.scopes.join(','),
      createdAt: String(record.createdAt),
    };
    if (record.name !== null) fields['name'] = record.name;
    if (record.expiresAt !== null) fields['expiresAt'] = String(record.expiresAt);
    await backendCall('create', async () => {
      const index = redisKeys.apiKeyIdIndex(record.id);
      const ids = redisKeys.apiKeyIds();
      const byHash = redisKeys.apiKeyByHash(keyHash);
      const results = await execRouted(
        this.#redis,
        [
          { key: index, command: ['set', index, keyHash] },
          { key: ids, command: ['sadd', ids, record.id] },
          { key: byHash, command: ['hset', byHash, ...Object.entries(fields).flat()] },
        ],
        { ordered: true },
      );
      const failed = results.find(([err]) => err !== null);
      if (failed) throw failed[0];
    });
    return { key, record };
  }

  async lookup(key: string): Promise<ApiKeyRecord | null> {
    if (!isWellFormedApiKey(key)) return null;
    const fields = await backendCall('lookup', () => this.#redis.hgetall(redisKeys.apiKeyByHash(hashApiKey(key))));
    return parseRecord(fields);
  }

  async revoke(idOrKey: string): Promise<ApiKeyRecord | null> {
    return backendCall('revoke', async () => {
      let keyHash: string | null = null;
      if (isWellFormedApiKey(idOrKey)) keyHash = hashApiKey(idOrKey);
      else if (isKeyIdFormat(idOrKey)) keyHash = await this.#redis.get(redisKeys.apiKeyIdIndex(idOrKey));
      if (keyHash === null) return null;
      const record = parseRecord(pairsToObject(await this.#revoke(redisKeys.apiKeyByHash(keyHash), this.#now())));
      if (record === null) return null;
      await this.#redis.publish(
        redisChannels.control(),
        encodeControlNotice({ type: 'key-revoked', keyId: record.id }),
      );
      return record;
    });
  }

  async lookupByIds(ids: readonly string[]): Promise<Map<string, ApiKeyRecord>> {
    return backendCall('lookup by id', async () => {
      const found = new Map<string, ApiKeyRecord>();
      for (const record of await this.#recordsOf(ids.filter(isKeyIdFormat))) found.set(record.id, record);
      return found;
    });
  }

  async list(): Promise<ApiKeyRecord[]> {
    return backendCall('list', async () => {
      const ids = await this.#redis.smembers(redisKeys.apiKeyIds());
      return (await this.#recordsOf(ids)).sort(compareNewestFirst);
    });
  }

  /** The records of `ids` that exist, two pipelined round trips per LIST_BATCH ids (id index, then record). */
  async #recordsOf(ids: readonly string[]): Promise<ApiKeyRecord[]> {
    const records: ApiKeyRecord[] = [];
    for (let start = 0; start < ids.length; start += LIST_BATCH) {
      const batch = ids.slice(start, start + LIST_BATCH);
      const hashes = await this.#execAll(batch.map((id): [string, string] => ['get', redisKeys.apiKeyIdIndex(id)]));
      const recordKeys = hashes.filter((h): h is string => typeof h === 'string').map(redisKeys.apiKeyByHash);
      for (const fields of await this.#execAll(recordKeys.map((k): [string, string] => ['hgetall', k]))) {
        const record = parseRecord(fields as Record<string, string>);
        if (record) records.push(record);
      }
    }
    return records;
  }

  async #execAll(commands: [string, string][]): Promise<unknown[]> {
    const results = await execRouted(
      this.#redis,
      commands.map((command) => ({ key: command[1], command })),
    );
    return results.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }
}

function pairsToObject(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) out[pairs[i]!] = pairs[i + 1]!;
  return out;
}

/** A stored record, or null for a missing or unreadable one (treated as unknown). */
function parseRecord(fields: Record<string, string>): ApiKeyRecord | null {
  const id = fields['id'];
  const createdAt = Number(fields['createdAt']);
  if (!id || !Number.isFinite(createdAt)) return null;
  return {
    id,
    name: fields['name'] ?? null,
    scopes: (fields['scopes'] ?? '').split(',').filter(isScope),
    createdAt,
    expiresAt: optionalMs(fields['expiresAt']),
    revokedAt: optionalMs(fields['revokedAt']),
  };
}

function optionalMs(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
