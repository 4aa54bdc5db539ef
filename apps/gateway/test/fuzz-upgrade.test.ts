import { generateApiKey } from '@hydra/backplane';
import { SCOPES } from '@hydra/protocol';
import type { GatewayProcess } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawUpgrade } from './raw-socket.js';

/**
 * Fuzzing real upgrade requests against a real gateway process: random
 * query strings, `x-api-key` headers and `X-Forwarded-For` chains (the
 * gateway trusts 127.0.0.0/8 as a proxy, so the header is parsed). Every
 * answer is a 101 followed by `connected` or by `error` + a close frame, or
 * a 4xx; never a 5xx, never silence, and the process keeps serving.
 */
describe('upgrade requests under fuzzing', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let valid: string;

  beforeAll(async () => {
    f = await StreamFixture.start();
    // The auth throttle is off here so that random keys reach the lookup path (it has its own tests).
    gw = await f.gateway({ HYDRA_TRUSTED_PROXIES: '127.0.0.0/8', HYDRA_AUTH_FAILURE_LIMIT: '0' });
    valid = (await f.key(['signals', 'aircraft'])).key;
    await f.publish('signals', { kind: 'rf', label: 'seq 1' });
  });
  afterAll(async () => {
    await f?.stop();
  });

  /** Header values as a client may write them: visible ASCII, inner spaces. */
  const headerValue = fc
    .string({ maxLength: 120, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) })
    .map((s) => s.trim());
  const keyText = fc.oneof(
    fc.constant(''),
    fc.constant('VALID'),
    fc.constant(generateApiKey()),
    fc.constant('hydra_k1_'),
    headerValue,
    fc.string({ minLength: 40, maxLength: 60 }).map((s) => `hydra_k1_${s}`),
  );
  const resumeText = fc.oneof(
    fc.constant(''),
    fc
      .tuple(fc.constantFrom(...SCOPES, 'planes', ''), fc.oneof(fc.nat(5), fc.constant(2 ** 60)))
      .map(([s, n]) => `${s}:${n}`),
    fc.string({ maxLength: 30 }),
  );
  const param = fc.oneof(
    keyText.map((k) => ['apiKey', k] as const),
    resumeText.map((r) => ['resume', r] as const),
    fc.constantFrom('true', 'false', '0', 'no', '', 'FALSE').map((v) => ['snapshot', v] as const),
    fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })),
  );
  /** A query string: encoded parameters, sometimes raw junk (percent-escapes left broken on purpose). */
  const query = fc.oneof(
    fc
      .array(param, { maxLength: 6 })
      .map((params) =>
        params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v === 'VALID' ? valid : v)}`).join('&'),
      ),
    fc
      .array(fc.constantFrom('%', '%zz', '%00', '%FF', '&', '=', 'apiKey=', 'a', '%C0%AF', '+', ';', '?', '/'), {
        maxLength: 40,
      })
      .map((parts) => parts.join('')),
    fc.integer({ min: 4000, max: 4200 }).map((n) => `apiKey=${'k'.repeat(n)}`),
  );
  const hop = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.constantFrom('unknown', '127.0.0.1', '[::1]:80', '10.0.0.1:8080', ''),
    headerValue,
  );
  const request = fc.record({
    query,
    apiKeyHeader: fc.option(keyText, { nil: undefined }),
    forwardedFor: fc.option(
      fc.array(hop, { maxLength: 5 }).map((hops) => hops.join(', ')),
      { nil: undefined },
    ),
  });

  it('answers every random upgrade with 101 then connected or error + close, or a 4xx; never a 5xx', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ query: q, apiKeyHeader, forwardedFor }) => {
        const headers: [string, string][] = [];
        if (apiKeyHeader !== undefined) headers.push(['x-api-key', apiKeyHeader === 'VALID' ? valid : apiKeyHeader]);
        if (forwardedFor !== undefined) headers.push(['x-forwarded-for', forwardedFor]);
        const c = await rawUpgrade(gw.port, `/v1/stream?${q}`, { headers });
        try {
          if (c.status === 101) {
            const end = await c.until(
              () => c.closeFrame() ?? (c.messages().some((m) => m.type === 'connected') ? 'connected' : null),
              5000,
              'connected or a close frame',
            );
            const label = typeof end === 'string' ? end : `close ${end.code}`;
            outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
            if (typeof end !== 'string') {
              expect([1008, 4002]).toContain(end.code);
              const [error] = c.messages();
              expect(error?.type).toBe('error');
            }
          } else {
            outcomes.set(String(c.status), (outcomes.get(String(c.status)) ?? 0) + 1);
            expect(c.status).toBeGreaterThanOrEqual(400);
            expect(c.status).toBeLessThan(500);
          }
        } finally {
          c.destroy();
        }
      }),
      { numRuns: 300 },
    );
    console.log(`[figures] upgrade fuzz: 300 random upgrades → ${JSON.stringify(Object.fromEntries(outcomes))}`);

    // The process is up and serves as before.
    expect(gw.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${gw.adminPort}/healthz`)).status).toBe(200);
    const client = f.client(withKey(gw.url, valid, '&snapshot=false'), { localAddress: '127.0.85.1' });
    await client.waitFor((m) => m.type === 'connected');
    await f.publish('signals', { kind: 'rf', label: 'after the fuzz' });
    await client.waitFor((m) => m.type === 'signals');
  }, 60_000);
});
