import { isIP } from 'node:net';
import { parseResumePositions, SCOPES } from '@hydra/protocol';
import { throttleSource } from '@hydra/throttle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeIp, parseCidr, parseCidrList } from './cidr.js';
import { resolveClientIp } from './client-ip.js';
import { MAX_QUERY_LENGTH, parseStreamQuery } from './stream-query.js';

/**
 * Property-based fuzzing of everything the gateway parses from a client's
 * request before authenticating it: no input makes a parser throw, and the
 * client IP is never taken from a header unless the peer is trusted.
 */
const RUNS = { numRuns: 500 };

const queryChar = fc.oneof(
  fc.constantFrom('&', '=', '%', '+', '?', '#', ';', 'apiKey', 'snapshot', 'resume', 'false', ':', ','),
  fc.string({ maxLength: 3, unit: 'grapheme' }),
  fc.constantFrom('%zz', '%', '%E2%82', '%00', '%C0%AF', '%ED%A0%80', '%FF'),
);
const queryString = fc.oneof(
  fc.array(queryChar, { maxLength: 60 }).map((parts) => parts.join('')),
  fc.string({ maxLength: 200, unit: 'binary' }),
  fc.integer({ min: MAX_QUERY_LENGTH - 2, max: MAX_QUERY_LENGTH + 2 }).map((n) => 'a'.repeat(n)),
);
const ipLike = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4().map((ip) => `::ffff:${ip}`),
  fc.tuple(fc.ipV4(), fc.nat(65535)).map(([ip, port]) => `${ip}:${port}`),
  fc.ipV6().map((ip) => `[${ip}]:443`),
  fc.constantFrom('unknown', '', ' ', '_hidden', '1.2.3', '999.1.1.1', '::g', '[::1', 'a'.repeat(300)),
  fc.string({ maxLength: 30 }),
);
const forwardedFor = fc
  .array(ipLike, { maxLength: 8 })
  .chain((hops) => fc.constantFrom(', ', ',', ' , ', ',,').map((sep) => hops.join(sep)));
const cidrText = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([ip, n]) => `${ip}/${n}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: -1, max: 140 })).map(([ip, n]) => `${ip}/${n}`),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('10.0.0.0/', '/8', '0.0.0.0/0', '::/0', '::ffff:10.0.0.0/104', '1.2.3.4/8/9', '10.0.0.0/08'),
);
const trustedList = fc.array(cidrText, { maxLength: 4 }).map((texts) =>
  texts.flatMap((t) => {
    try {
      return [parseCidr(t)];
    } catch {
      return [];
    }
  }),
);

describe('request parsing under fuzzing', () => {
  it('parseStreamQuery never throws; refuses exactly the over-long; the key is whatever the first apiKey says', () => {
    fc.assert(
      fc.property(queryString, (raw) => {
        const q = parseStreamQuery(raw);
        if (raw.length > MAX_QUERY_LENGTH) {
          expect(q).toBeNull();
          return;
        }
        expect(q).not.toBeNull();
        expect(typeof q?.apiKey).toBe('string');
        expect(typeof q?.snapshot).toBe('boolean');
        expect(q?.apiKey).toBe(new URLSearchParams(raw).get('apiKey') ?? '');
        // Whatever the resume text, the protocol parser answers with a verdict.
        const resume = parseResumePositions(q?.resume ?? '');
        if (resume.ok) for (const scope of resume.positions.keys()) expect(SCOPES).toContain(scope);
        else expect(resume.reason).toMatch(/^resume: /);
      }),
      RUNS,
    );
  });

  it('resolveClientIp never throws, and trusts forwarding only from a trusted peer', () => {
    fc.assert(
      fc.property(ipLike, forwardedFor, trustedList, ipLike, (peer, xff, trusted, proxied) => {
        const ip = resolveClientIp(peer, xff, trusted, proxied);
        const peerIsTrusted = trusted.some((b) => b.contains(peer));
        if (!peerIsTrusted) expect(ip).toBe(normalizeIp(peer));
        else {
          // Either the peer itself, or an address taken from the forwarding information (never junk).
          expect(ip === normalizeIp(peer) || isIP(ip) !== 0).toBe(true);
        }
        expect(() => throttleSource(ip)).not.toThrow();
      }),
      RUNS,
    );
  });

  it('parseCidr either throws an Error naming the text or gives a block whose contains() never throws', () => {
    fc.assert(
      fc.property(cidrText, ipLike, (text, probe) => {
        let block: ReturnType<typeof parseCidr>;
        try {
          block = parseCidr(text);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).message).toContain(text);
          return;
        }
        expect(typeof block.contains(probe)).toBe('boolean');
        const [addr] = text.trim().split('/');
        if (addr !== undefined && isIP(normalizeIp(addr)) !== 0) expect(block.contains(addr)).toBe(true);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.array(cidrText, { maxLength: 4 }), (texts) => {
        try {
          parseCidrList(texts.join(','));
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
      }),
      RUNS,
    );
  });
});
