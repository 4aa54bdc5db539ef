import { createHash, randomBytes } from 'node:crypto';
import { API_KEY_PREFIX } from '@hydra/protocol';

/**
 * Minting and hashing of API keys (format: @hydra/protocol api-key-format).
 *
 * A key is `hydra_k1_` + base64url of 32 random bytes: 256 bits of entropy,
 * so an unsalted SHA-256 is enough (there is nothing to brute-force) and
 * lets a lookup be one indexed read. The plaintext exists only in the
 * `create()` result and in what clients send; stores keep `hashApiKey(key)`.
 */

const KEY_ID_PATTERN = /^key_[0-9a-f]{16}$/;

/** A new random plaintext API key (always well-formed per isWellFormedApiKey). */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** A new random key id, `key_` + 16 hex: public, safe to log and to show in `keys list`. */
export function generateKeyId(): string {
  return 'key_' + randomBytes(8).toString('hex');
}

/** SHA-256 (hex) of a plaintext key: the only form in which a key is stored or indexed. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True if `text` has the shape of a key id (it may still be unknown). */
export function isKeyIdFormat(text: string): boolean {
  return KEY_ID_PATTERN.test(text);
}
