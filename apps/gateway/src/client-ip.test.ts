import { describe, expect, it } from 'vitest';
import { parseCidrList } from './cidr.js';
import { resolveClientIp } from './client-ip.js';

const trusted = parseCidrList('127.0.40.1/32,10.0.0.0/8,fd00::/8');

describe('resolveClientIp', () => {
  it('uses the socket address when no proxy is trusted, whatever the headers say', () => {
    expect(resolveClientIp('198.51.100.1', '203.0.113.7', [])).toBe('198.51.100.1');
    expect(resolveClientIp('198.51.100.1', '203.0.113.7', [], '203.0.113.9')).toBe('198.51.100.1');
    expect(resolveClientIp('::ffff:198.51.100.1', '', [])).toBe('198.51.100.1');
  });

  it('ignores X-Forwarded-For and PROXY addresses from an untrusted peer (spoofing)', () => {
    expect(resolveClientIp('127.0.40.2', '203.0.113.7', trusted)).toBe('127.0.40.2');
    expect(resolveClientIp('127.0.40.2', '203.0.113.7, 10.0.0.5', trusted)).toBe('127.0.40.2');
    expect(resolveClientIp('127.0.40.2', '', trusted, '203.0.113.9')).toBe('127.0.40.2');
  });

  it('takes X-Forwarded-For from a trusted peer', () => {
    expect(resolveClientIp('127.0.40.1', '203.0.113.7', trusted)).toBe('203.0.113.7');
    expect(resolveClientIp('::ffff:127.0.40.1', ' 203.0.113.7 ', trusted)).toBe('203.0.113.7');
    expect(resolveClientIp('fd00::9', '2001:DB8::7', trusted)).toBe('2001:db8::7');
    expect(resolveClientIp('127.0.40.1', '::ffff:203.0.113.7', trusted)).toBe('203.0.113.7');
  });

  it('uses the trusted peer itself when it forwards nothing', () => {
    expect(resolveClientIp('127.0.40.1', '', trusted)).toBe('127.0.40.1');
    expect(resolveClientIp('127.0.40.1', ' , ', trusted)).toBe('127.0.40.1');
  });

  it('picks the right-most untrusted hop of a multi-hop chain (left of it is client-supplied)', () => {
    // spoofed-by-client, real client, an inner trusted proxy; the peer is the outer trusted proxy
    expect(resolveClientIp('127.0.40.1', '198.51.100.66, 203.0.113.50, 10.1.2.3', trusted)).toBe('203.0.113.50');
    expect(resolveClientIp('127.0.40.1', '1.1.1.1,2.2.2.2,3.3.3.3', trusted)).toBe('3.3.3.3');
    // every hop trusted: the left-most (the first proxy's own client) is all there is
    expect(resolveClientIp('127.0.40.1', '10.0.0.1, 10.0.0.2', trusted)).toBe('10.0.0.1');
  });

  it('accepts hops written with ports', () => {
    expect(resolveClientIp('127.0.40.1', '203.0.113.7:51234', trusted)).toBe('203.0.113.7');
    expect(resolveClientIp('127.0.40.1', '[2001:db8::7]:443', trusted)).toBe('2001:db8::7');
    expect(resolveClientIp('127.0.40.1', '[2001:db8::7]', trusted)).toBe('2001:db8::7');
  });

  it('stops at a hop that is not an address: the nearest address to its right counts', () => {
    expect(resolveClientIp('127.0.40.1', 'unknown', trusted)).toBe('127.0.40.1');
    expect(resolveClientIp('127.0.40.1', '203.0.113.7, garbage', trusted)).toBe('127.0.40.1');
    expect(resolveClientIp('127.0.40.1', '203.0.113.7, garbage, 10.0.0.8', trusted)).toBe('10.0.0.8');
    expect(resolveClientIp('127.0.40.1', 'garbage, 203.0.113.7', trusted)).toBe('203.0.113.7');
    expect(resolveClientIp('127.0.40.1', '203.0.113.7:x', trusted)).toBe('127.0.40.1');
  });

  it('takes the PROXY protocol source from a trusted peer, with X-Forwarded-For hops before it', () => {
    expect(resolveClientIp('127.0.40.1', '', trusted, '203.0.113.9')).toBe('203.0.113.9');
    // The PROXY source is the newest hop: an untrusted one wins over anything in the header.
    expect(resolveClientIp('127.0.40.1', '198.51.100.66', trusted, '203.0.113.9')).toBe('203.0.113.9');
    // An L7 proxy (trusted) behind an L4 load balancer speaking PROXY: its header is believed.
    expect(resolveClientIp('127.0.40.1', '198.51.100.66, 203.0.113.50', trusted, '10.9.9.9')).toBe('203.0.113.50');
  });
});
