import { describe, expect, it } from 'vitest';
import { normalizeIp, parseCidr, parseCidrList } from './cidr.js';

describe('parseCidr', () => {
  it('matches IPv4 blocks at their boundaries', () => {
    const block = parseCidr('10.1.0.0/16');
    expect(block.contains('10.1.0.0')).toBe(true);
    expect(block.contains('10.1.255.255')).toBe(true);
    expect(block.contains('10.0.255.255')).toBe(false);
    expect(block.contains('10.2.0.0')).toBe(false);
    // Host bits in the network address are masked off.
    expect(parseCidr('192.168.1.77/24').contains('192.168.1.1')).toBe(true);
  });

  it('treats a bare address as a single-host block', () => {
    const host = parseCidr('127.0.40.1');
    expect(host.contains('127.0.40.1')).toBe(true);
    expect(host.contains('127.0.40.2')).toBe(false);
    expect(parseCidr('2001:db8::1').contains('2001:db8::1')).toBe(true);
    expect(parseCidr('2001:db8::1').contains('2001:db8::2')).toBe(false);
  });

  it('matches IPv6 blocks, in any spelling of the address', () => {
    const block = parseCidr('fd00::/8');
    expect(block.contains('fd12:3456::1')).toBe(true);
    expect(block.contains('FD00:0:0:0:0:0:0:1')).toBe(true);
    expect(block.contains('fe80::1')).toBe(false);
    const v6 = parseCidr('2001:db8:abcd::/48');
    expect(v6.contains('2001:db8:abcd:ffff::1')).toBe(true);
    expect(v6.contains('2001:db8:abce::1')).toBe(false);
    expect(parseCidr('::1/128').contains('0:0:0:0:0:0:0:1')).toBe(true);
  });

  it('matches IPv4-mapped IPv6 peers against IPv4 blocks, and v4-mapped blocks against IPv4 peers', () => {
    expect(parseCidr('10.0.0.0/8').contains('::ffff:10.2.3.4')).toBe(true);
    expect(parseCidr('10.0.0.0/8').contains('::FFFF:11.2.3.4')).toBe(false);
    const mapped = parseCidr('::ffff:10.0.0.0/104');
    expect(mapped.contains('10.9.9.9')).toBe(true);
    expect(mapped.contains('::ffff:10.9.9.9')).toBe(true);
    expect(mapped.contains('11.0.0.1')).toBe(false);
  });

  it('never mixes families', () => {
    expect(parseCidr('0.0.0.0/0').contains('::1')).toBe(false);
    expect(parseCidr('::/0').contains('127.0.0.1')).toBe(false);
  });

  it('/0 contains every address of its family', () => {
    expect(parseCidr('0.0.0.0/0').contains('203.0.113.7')).toBe(true);
    expect(parseCidr('0.0.0.0/0').contains('255.255.255.255')).toBe(true);
    expect(parseCidr('::/0').contains('2001:db8::7')).toBe(true);
  });

  it('never matches (or throws on) text that is not an address', () => {
    for (const block of [parseCidr('0.0.0.0/0'), parseCidr('::/0'), parseCidr('10.0.0.0/8')]) {
      for (const junk of ['', 'unknown', 'garbage', '10.0.0', '10.0.0.1:80', '1::2::3', '_hidden']) {
        expect(block.contains(junk), `${block.text} ∌ "${junk}"`).toBe(false);
      }
    }
  });

  it('rejects bad input with the offending text', () => {
    for (const bad of ['', 'localhost', '10.0.0.256', '10.0.0.0/33', '::/129', '10.0.0.0/-1', '1.2.3.4/8/9']) {
      expect(() => parseCidr(bad), bad).toThrow(bad === '' ? /not an IP/ : bad);
    }
  });

  it('rejects prefix lengths that are not plain digits (an empty one must not mean /0)', () => {
    for (const bad of [
      '10.0.0.0/',
      '10.0.0.0/ ',
      '10.0.0.0/0x8',
      '10.0.0.0/1e1',
      '10.0.0.0/8.0',
      '::/',
      '::ffff:10.0.0.0/80',
    ]) {
      expect(() => parseCidr(bad), bad).toThrow(/bad prefix length/);
    }
  });
});

describe('parseCidrList', () => {
  it('parses a comma-separated list, ignoring blanks and whitespace', () => {
    const list = parseCidrList(' 10.0.0.0/8, fd00::/8 ,,127.0.40.1 ');
    expect(list.map((b) => b.text)).toEqual(['10.0.0.0/8', 'fd00::/8', '127.0.40.1']);
    expect(parseCidrList('')).toEqual([]);
  });

  it('fails on the first bad entry', () => {
    expect(() => parseCidrList('10.0.0.0/8,nope')).toThrow(/"nope"/);
  });
});

describe('normalizeIp', () => {
  it('unmaps IPv4-mapped IPv6, lower-cases and trims', () => {
    expect(normalizeIp('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(normalizeIp(' ::FFFF:203.0.113.7 ')).toBe('203.0.113.7');
    expect(normalizeIp('2001:DB8::1')).toBe('2001:db8::1');
    expect(normalizeIp('::ffff:abcd')).toBe('::ffff:abcd');
  });
});
