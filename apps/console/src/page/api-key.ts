/** Where the console keeps the key for the tab's lifetime (never localStorage: it must not outlive the tab). */
export const KEY_STORAGE_NAME = 'hydra.console.apiKey';

/**
 * The API key the console connects with: `#key=…` in the URL fragment (which
 * browsers never send to a server), else the one this tab stored before. A
 * key read from the fragment is stored in sessionStorage, so a reload or an
 * edited fragment keeps it. null: none yet (the page asks for one).
 */
export function readApiKey(hash: string, storage: Pick<Storage, 'getItem' | 'setItem'> | null): string | null {
  const fromHash = new URLSearchParams(hash.replace(/^#/, '')).get('key')?.trim() ?? '';
  if (fromHash !== '') {
    try {
      storage?.setItem(KEY_STORAGE_NAME, fromHash);
    } catch {
      // storage refused (a private mode): the fragment still holds it
    }
    return fromHash;
  }
  try {
    const stored = storage?.getItem(KEY_STORAGE_NAME) ?? '';
    return stored === '' ? null : stored;
  } catch {
    return null;
  }
}

/** The stream endpoint of the origin that served the page (ws: next to http:, wss: next to https:). */
export function streamUrlOf(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stream`;
}
