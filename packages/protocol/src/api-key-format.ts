/** Prefix of every Hydra API key; `k1` is the key format version. */
export const API_KEY_PREFIX = 'hydra_k1_';

/** Characters after the prefix: 32 random bytes in unpadded base64url. */
export const API_KEY_SECRET_LENGTH = 43;

/** Exact length of a well-formed key (52). */
export const API_KEY_LENGTH = API_KEY_PREFIX.length + API_KEY_SECRET_LENGTH;

// 32 bytes = 256 bits in 43 sextets: the last character carries 4 bits and two
// zero bits, so only 16 characters can end a canonical encoding.
const WELL_FORMED = /^hydra_k1_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * Cheap shape check run before any key lookup: true only for exactly
 * `hydra_k1_` + 43 base64url characters that canonically encode 32 bytes.
 * Length is checked first, so the cost is bounded whatever the input's size.
 * A well-formed key may still be unknown, revoked or expired.
 */
export function isWellFormedApiKey(s: string): boolean {
  return typeof s === 'string' && s.length === API_KEY_LENGTH && WELL_FORMED.test(s);
}
