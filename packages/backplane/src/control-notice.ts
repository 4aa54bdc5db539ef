/**
 * Notices every gateway must act on, sent on the control channel.
 * Malformed notices decode to null and are dropped by subscribers (never thrown).
 */
export type ControlNotice = { type: 'key-revoked'; keyId: string };

export function encodeControlNotice(notice: ControlNotice): string {
  return JSON.stringify(notice);
}

export function decodeControlNotice(text: string): ControlNotice | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const { type, keyId } = value as Record<string, unknown>;
    if (type === 'key-revoked' && typeof keyId === 'string' && keyId !== '') return { type, keyId };
    return null;
  } catch {
    return null;
  }
}
