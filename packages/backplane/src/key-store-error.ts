/**
 * The one error type key stores throw. Its message never contains a plaintext
 * key or a key hash: backend errors are re-thrown with such strings scrubbed and
 * without `cause` (ioredis attaches the failed command's arguments, which hold
 * key names built from hashes, to its errors).
 */
export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError';

  constructor(
    /** `invalid-options` for a bad create() call, `backend` when the store could not be reached or answered badly. */
    readonly code: 'invalid-options' | 'backend',
    message: string,
  ) {
    super(message);
  }
}

const SECRET_PATTERNS = [/hydra_k1_[A-Za-z0-9_-]+/g, /[0-9a-f]{64}/gi];

/** Removes anything shaped like a plaintext key or a SHA-256 hex digest. */
export function scrubSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((out, pattern) => out.replace(pattern, '[redacted]'), text);
}

/** Runs a backend call, turning any failure into a scrubbed KeyStoreError. */
export async function backendCall<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new KeyStoreError('backend', `key store ${operation} failed: ${scrubSecrets(detail)}`);
  }
}
