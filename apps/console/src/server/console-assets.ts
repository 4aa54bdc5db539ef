import { readFileSync } from 'node:fs';

/** One file of the console page, held in memory. */
export interface ConsoleAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The console's files by request path (`/` is the page). */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

const FILES: readonly (readonly [path: string, file: string, contentType: string])[] = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/console.js', 'console.js', 'text/javascript; charset=utf-8'],
  ['/stream-worker.js', 'stream-worker.js', 'text/javascript; charset=utf-8'],
  ['/console.css', 'console.css', 'text/css; charset=utf-8'],
];

/**
 * The headers every console response carries. The page loads only its own
 * files (its worker too: `worker-src` falls back to `script-src`) and
 * connects only to its own origin (`connect-src 'self'` covers the
 * same-origin `ws:`/`wss:` stream); it cannot be framed, and sends no referrer
 * (the key lives in the URL fragment, which browsers never send, and in
 * sessionStorage).
 */
export const CONSOLE_HEADERS: readonly (readonly [string, string])[] = [
  [
    'content-security-policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  ],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['cache-control', 'no-cache'],
];

/** Thrown when the console is asked for but its page was not built (`pnpm build`). */
export class ConsoleNotBuiltError extends Error {}

/**
 * Reads the built page (dist/public, made by `pnpm build`) into memory, once:
 * the gateway then answers from memory and never touches the file system
 * per request. Throws ConsoleNotBuiltError when a file is missing.
 */
export function loadConsoleAssets(dir: URL = new URL('../public/', import.meta.url)): ConsoleAssets {
  const assets = new Map<string, ConsoleAsset>();
  for (const [path, file, contentType] of FILES) {
    let body: Buffer;
    try {
      body = readFileSync(new URL(file, dir));
    } catch {
      throw new ConsoleNotBuiltError(
        `the console page is not built (${file} missing in ${dir.pathname}): run pnpm build`,
      );
    }
    assets.set(path, { contentType, body });
  }
  return assets;
}
