import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Builds a check of an `Authorization` header against the expected bearer
 * token. Both sides are hashed (SHA-256) before a constant-time comparison,
 * so neither the token's content nor its length leaks through timing.
 */
export function createBearerCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = sha256(token);
  return (authorization) => {
    if (authorization === undefined) return false;
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    // Hash something even without a match, so a malformed header costs the same.
    const presented = sha256(match?.[1] ?? '');
    return timingSafeEqual(presented, expected) && match !== null;
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
