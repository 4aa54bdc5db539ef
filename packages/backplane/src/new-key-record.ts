import { isScope, SCOPES } from '@hydra/protocol';
import { generateApiKey, generateKeyId, hashApiKey } from './api-key-secret.js';
import type { ApiKeyRecord, CreateKeyOptions } from './key-store.js';
import { KeyStoreError } from './key-store-error.js';

/** Longest accepted key name (characters). */
export const MAX_KEY_NAME_LENGTH = 200;

export interface NewKey {
  /** Plaintext: handed to the caller once, never stored. */
  key: string;
  keyHash: string;
  record: ApiKeyRecord;
}

/**
 * Validates create() options and mints a key with its record, shared by every
 * KeyStore so both backends accept and reject exactly the same input.
 * Scopes come back in catalogue order without duplicates.
 */
export function newKeyRecord(options: CreateKeyOptions, now: number): NewKey {
  const { scopes, name, ttlSeconds } = options;
  if (!Array.isArray(scopes) || scopes.length === 0) {
    throw new KeyStoreError('invalid-options', 'a key needs at least one scope');
  }
  const unknown = scopes.find((s) => !isScope(s));
  if (unknown !== undefined) throw new KeyStoreError('invalid-options', `unknown scope: ${String(unknown)}`);
  if (name !== undefined && (typeof name !== 'string' || name.length > MAX_KEY_NAME_LENGTH)) {
    throw new KeyStoreError(
      'invalid-options',
      `key name must be a string of at most ${MAX_KEY_NAME_LENGTH} characters`,
    );
  }
  if (ttlSeconds !== undefined && !(Number.isFinite(ttlSeconds) && ttlSeconds > 0)) {
    throw new KeyStoreError('invalid-options', 'ttlSeconds must be a positive number');
  }
  const wanted = new Set<string>(scopes);
  const key = generateApiKey();
  return {
    key,
    keyHash: hashApiKey(key),
    record: {
      id: generateKeyId(),
      name: name === undefined || name === '' ? null : name,
      scopes: SCOPES.filter((s) => wanted.has(s)),
      createdAt: now,
      expiresAt: ttlSeconds === undefined ? null : now + Math.round(ttlSeconds * 1000),
      revokedAt: null,
    },
  };
}

/** Newest first; ties (same millisecond) by id so the order is stable. */
export function compareNewestFirst(a: ApiKeyRecord, b: ApiKeyRecord): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
