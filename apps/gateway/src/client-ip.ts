import type { CidrBlock } from './cidr.js';
import { normalizeIp } from './cidr.js';

/**
 * The client IP used for the per-IP limit.
 *
 * Guarantee: `X-Forwarded-For` is honoured only when the socket peer is a
 * trusted proxy; then the right-most address that is not itself a trusted
 * proxy is the client (addresses further left are client-supplied and
 * spoofable). With no trusted proxies configured, the socket address is used.
 */
export function resolveClientIp(socketIp: string, forwardedFor: string, trusted: readonly CidrBlock[]): string {
  const peer = normalizeIp(socketIp);
  if (trusted.length === 0 || forwardedFor === '' || !isTrusted(peer, trusted)) return peer;
  const hops = forwardedFor
    .split(',')
    .map((s) => normalizeIp(s))
    .filter((s) => s !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!isTrusted(hop, trusted)) return hop;
  }
  return hops[0] ?? peer;
}

function isTrusted(ip: string, trusted: readonly CidrBlock[]): boolean {
  return trusted.some((block) => block.contains(ip));
}
