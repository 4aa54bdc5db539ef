import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { API_KEY_LENGTH, API_KEY_PREFIX, isWellFormedApiKey } from './api-key-format.js';

const generated = () => API_KEY_PREFIX + randomBytes(32).toString('base64url');

describe('isWellFormedApiKey', () => {
  it('accepts keys made as the backplane makes them (32 random bytes, base64url)', () => {
    for (let i = 0; i < 500; i++) {
      const key = generated();
      expect(key).toHaveLength(API_KEY_LENGTH);
      expect(isWellFormedApiKey(key)).toBe(true);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        expect(isWellFormedApiKey(API_KEY_PREFIX + Buffer.from(bytes).toString('base64url'))).toBe(true);
      }),
    );
  });

  it.each([
    ['empty', ''],
    ['the documentation placeholder', 'hydra_k1_abc123...'],
    ['prefix only', API_KEY_PREFIX],
    ['wrong version', `hydra_k2_${'A'.repeat(43)}`],
    ['one char short', API_KEY_PREFIX + 'A'.repeat(42)],
    ['one char long', API_KEY_PREFIX + 'A'.repeat(44)],
    ['padded base64', `${API_KEY_PREFIX}${'A'.repeat(42)}=`],
    ['standard base64 alphabet', `${API_KEY_PREFIX}+${'A'.repeat(42)}`],
    ['non-canonical last character', `${API_KEY_PREFIX}${'A'.repeat(42)}B`],
    ['surrounding whitespace', ` ${generated()}`],
    ['huge', `${API_KEY_PREFIX}${'A'.repeat(1_000_000)}`],
  ])('rejects %s', (_name, key) => {
    expect(isWellFormedApiKey(key)).toBe(false);
  });

  it('never throws, even when called from JavaScript with a non-string', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(isWellFormedApiKey(value as string)).toBe(false);
      }),
    );
  });
});
