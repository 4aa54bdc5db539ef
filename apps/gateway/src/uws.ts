import type * as Uws from 'uWebSockets.js';
import { createRequire } from 'node:module';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
export type UwsModule = typeof Uws;

/**
 * Loads uWebSockets.js and proves it is the native build.
 *
 * The package we depend on silently swaps in a slow pure-JS shim when its
 * native binary does not load (wrong glibc, Node ABI or platform). A gateway
 * on the shim looks healthy and performs an order of magnitude worse, so we
 * refuse to start on it unless the operator explicitly allows it.
 */
export function loadUws(options: { allowFallback: boolean }): { uws: UwsModule; native: boolean } {
  const require = createRequire(import.meta.url);
  const uws = require('uWebSockets.js') as UwsModule;
  const native = isNativeBuild(uws);
  if (!native && !options.allowFallback) {
    throw new Error(
      'uWebSockets.js loaded its pure-JS fallback, not the native binary (needs Linux glibc >= 2.36 and Node 20 ABI 115). ' +
        'Refusing to start; set HYDRA_ALLOW_UWS_FALLBACK=true to run on the slow fallback anyway.',
    );
  }
  return { uws, native };
}

/** The native addon exports SSLApp and getParts; the fallback shim exports neither. */
export function isNativeBuild(uws: Partial<UwsModule>): boolean {
  return typeof uws.SSLApp === 'function' && typeof uws.getParts === 'function';
}
