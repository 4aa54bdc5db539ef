import { isIP } from 'node:net';
import type { CidrBlock } from './cidr.js';
import { normalizeIp } from './cidr.js';

/**
 * The client IP used for the per-IP limit.
 *
 * Guarantee: forwarding information — `X-Forwarded-For` and the source
 * address of a PROXY protocol v2 header (`proxiedIp`, parsed by uWS) — is
 * honoured only when the socket peer is a trusted proxy. The addresses the
 * connection came through are then, oldest first, the `X-Forwarded-For` hops
 * followed by the PROXY source (whoever connected to the load balancer); the
 * right-most one that is not itself a trusted proxy is the client (addresses
 * further left are client-supplied and spoofable). A hop that is not an IP
 * address ends the walk: nothing left of it can be believed, so the nearest
 * address to its right counts. With no trusted proxies configured, or from any
 * other peer, the socket address is used.
 */
export function resolveClientIp(
  socketIp: string,
  forwardedFor: string,
  trusted: readonly CidrBlock[],
  proxiedIp = '',
): string {
  const peer = normalizeIp(socketIp);
  if (trusted.length === 0 || !isTrusted(peer, trusted)) return peer;
  const hops = forwardedFor
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseHop);
  if (proxiedIp !== '') hops.push(parseHop(proxiedIp));
  let nearest = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? null;
    if (hop === null) return nearest;
    if (!isTrusted(hop, trusted)) return hop;
    nearest = hop;
  }
  return nearest;
}

/** One hop as proxies write it (`1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:443`), or null if not an address. */
function parseHop(text: string): string | null {
  let addr = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(addr);
  if (bracketed?.[1]) addr = bracketed[1];
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(addr)) addr = addr.slice(0, addr.lastIndexOf(':'));
  const ip = normalizeIp(addr);
  return isIP(ip) === 0 ? null : ip;
}

function isTrusted(ip: string, trusted: readonly CidrBlock[]): boolean {
  return trusted.some((block) => block.contains(ip));
}
