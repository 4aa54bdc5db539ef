import { isIP, isIPv4, isIPv6 } from 'node:net';

/** One parsed CIDR block, matched against text IP addresses (v4, v6, v4-mapped v6). */
export interface CidrBlock {
  readonly text: string;
  contains(ip: string): boolean;
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a bare address. Throws with the offending text. */
export function parseCidr(text: string): CidrBlock {
  const [rawAddr = '', lenText, ...extra] = text.trim().split('/');
  // Peers are matched in their plain IPv4 form (normalizeIp), so a v4-mapped block `::ffff:a.b.c.d/n` is one too.
  const addr = normalizeIp(rawAddr);
  const mapped = addr !== rawAddr.trim().toLowerCase();
  const v4 = isIPv4(addr);
  if (extra.length > 0 || (!v4 && !isIPv6(addr))) throw new Error(`not an IP address or CIDR: "${text}"`);
  const bits = v4 ? 32 : 128;
  // Digits only: Number('') is 0, and "10.0.0.0/" must not silently trust every address.
  if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) throw new Error(`bad prefix length in "${text}"`);
  const prefix = lenText === undefined ? bits : Number(lenText) - (mapped ? 96 : 0);
  if (prefix < 0 || prefix > bits) throw new Error(`bad prefix length in "${text}"`);
  const base = toBigInt(addr);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  const network = base & mask;
  return {
    text,
    contains(ip: string): boolean {
      const candidate = normalizeIp(ip);
      // Not an address at all (e.g. a junk X-Forwarded-For hop): never inside a block, and never a throw.
      const family = isIP(candidate);
      if (family === 0 || (family === 4) !== v4) return false;
      return (toBigInt(candidate) & mask) === network;
    },
  };
}

export function parseCidrList(text: string): CidrBlock[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseCidr);
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; otherwise lower-cased and trimmed. */
export function normalizeIp(ip: string): string {
  const lower = ip.trim().toLowerCase();
  if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return lower.slice(7);
  return lower;
}

function toBigInt(ip: string): bigint {
  if (isIPv4(ip)) return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  // Expand `::` and any embedded IPv4 tail into eight 16-bit groups.
  let text = ip;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail?.[1]) {
    const n = toBigInt(v4Tail[1]);
    text = `${text.slice(0, -v4Tail[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}
