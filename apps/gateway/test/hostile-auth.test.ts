import { spawnSync } from 'node:child_process';
import { generateApiKey, hashApiKey, redisKeys } from '@hydra/backplane';
import { CloseCode } from '@hydra/protocol';
import { type GatewayProcess, REPO_ROOT, StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawClient, rawUpgrade } from './raw-socket.js';
import { commandCalls, metricValue } from './redis-cost.js';

const FAILURE_LIMIT = 10; // HYDRA_AUTH_FAILURE_LIMIT's default
const THROTTLE_MS = 3000;

/**
 * Brute force of keys and what refusals reveal. Policy (auth-throttle.ts,
 * admission.ts): after FAILURE_LIMIT failed authentications (unknown,
 * revoked, expired or malformed key; not a missing one) within
 * HYDRA_AUTH_THROTTLE_MS from one source, for one HYDRA_AUTH_THROTTLE_MS
 * every upgrade from it whose key would need a key-store read gets HTTP 429
 * "Too Many Failed Authentications" with Retry-After, before any lookup.
 * Keys the gateway can judge without Redis (missing, malformed, or in its
 * key cache) are still answered as the contract says: a valid one connects,
 * the others get `error` + 1008. Every refusal of a presented key is the
 * same `error` + 1008, whatever the reason.
 */
describe('brute force of keys and key-state disclosure', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let valid: string;
  const raws: RawClient[] = [];

  beforeAll(async () => {
    f = await StreamFixture.start();
    // A key cache that outlives the test: "cached" below never depends on timing.
    gw = await f.gateway({
      HYDRA_AUTH_THROTTLE_MS: String(THROTTLE_MS),
      HYDRA_PING_INTERVAL_MS: '500',
      HYDRA_KEY_CACHE_TTL_MS: '600000',
    });
    valid = (await f.key(['signals'])).key;
    // `valid` is now in the gateway's key cache (a connection from an address the tests never throttle).
    expect(outcome(await attempt('127.0.84.99', valid))).toBe('connected');
  });
  afterAll(async () => {
    for (const r of raws) r.destroy();
    await f?.stop();
  });

  /** One upgrade with `key` from `ip`: the HTTP status, and for a 101 the frames until the close. */
  const attempt = async (ip: string, key: string | null) => {
    const path = key === null ? '/v1/stream' : `/v1/stream?apiKey=${encodeURIComponent(key)}&snapshot=false`;
    const c = await rawUpgrade(gw.port, path, { localAddress: ip });
    raws.push(c);
    if (c.status === 101) {
      await c.until(() => c.closeFrame() ?? c.messages().some((m) => m.type === 'connected'));
    } else {
      await c.until(() => c.body !== '');
    }
    return c;
  };
  const outcome = (c: RawClient): 'connected' | number =>
    c.status === 101 && c.closeFrame() === null ? 'connected' : c.status === 101 ? c.closeFrame()!.code : c.status;
  const lookups = async () => (await commandCalls(f.redis)).get('hgetall') ?? 0;

  it(`throttles a source after ${FAILURE_LIMIT} failed keys: no lookup, 429 with Retry-After; a cached valid key and another IP still connect`, async () => {
    const attacker = '127.0.84.1';
    const lookupsBefore = await lookups();
    const outcomes: (string | number)[] = [];
    let firstThrottled: RawClient | null = null;
    for (let i = 0; i < 50; i++) {
      const c = await attempt(attacker, generateApiKey());
      outcomes.push(outcome(c));
      firstThrottled ??= c.status === 429 ? c : null;
    }
    expect(outcomes).toEqual([
      ...Array(FAILURE_LIMIT).fill(CloseCode.Unauthorized),
      ...Array(50 - FAILURE_LIMIT).fill(429),
    ]);
    // Only the attempts before the throttle reached Redis (one HGETALL each).
    expect((await lookups()) - lookupsBefore).toBe(FAILURE_LIMIT);
    expect(firstThrottled?.body).toBe('Too Many Failed Authentications');
    expect(firstThrottled?.head).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r\n/);
    const retryAfter = Number(/\r\nretry-after: (\d+)/i.exec(firstThrottled?.head ?? '')?.[1]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(THROTTLE_MS / 1000);

    // The cool-down refuses every key that would need a lookup, valid ones included (a key the gateway does
    // not know cannot be told from a guess without Redis)…
    const uncached = (await f.key(['signals'])).key;
    const lookupsThrottled = await lookups();
    expect(outcome(await attempt(attacker, uncached))).toBe(429);
    expect((await lookups()) - lookupsThrottled).toBe(0);
    // …but a key this gateway already knows is decided from its cache: a valid one connects, as the contract
    // says (only bad keys are refused, with error + 1008)…
    expect(outcome(await attempt(attacker, valid))).toBe('connected');
    // …and no one else is throttled.
    expect(outcome(await attempt('127.0.84.2', uncached))).toBe('connected');

    const log = await gw.waitForLog((l) => l.msg === 'repeated failed authentications; source throttled');
    expect(log).toMatchObject({ source: attacker, failures: FAILURE_LIMIT, coolDownMs: THROTTLE_MS });
    expect(await metricValue(gw.adminPort, 'hydra_connections_rejected_total{reason="auth_throttled"}')).toBe(41);
    await expect.poll(() => metricValue(gw.adminPort, 'hydra_auth_throttled_sources'), { timeout: 3000 }).toBe(1);

    // After the cool-down the source may try again, with a key the gateway must look up.
    await new Promise((r) => setTimeout(r, THROTTLE_MS));
    expect(outcome(await attempt(attacker, (await f.key(['signals'])).key))).toBe('connected');
  }, 30_000);

  it('counts malformed, revoked and expired keys; a missing key is not a guess', async () => {
    const missing = '127.0.84.3';
    for (let i = 0; i < 3 * FAILURE_LIMIT; i++) expect(outcome(await attempt(missing, null))).toBe(1008);
    expect(outcome(await attempt(missing, valid))).toBe('connected');

    const malformed = ['not-a-key', 'hydra_k1_short', `hydra_k1_${'A'.repeat(3000)}`, '', ' ', '%00', 'hydra_k2_x'];
    const sources: [string, string[]][] = [
      ['127.0.84.4', Array.from({ length: FAILURE_LIMIT }, (_, i) => malformed[i % malformed.length] || 'x')],
    ];
    const revoked = await f.key(['signals']);
    await f.backplane.keys.revoke(revoked.id);
    const expired = await f.key(['signals'], 0.05);
    await new Promise((r) => setTimeout(r, 100));
    sources.push(['127.0.84.5', Array.from({ length: FAILURE_LIMIT }, (_, i) => (i % 2 ? revoked : expired).key)]);
    for (const [ip, keys] of sources) {
      for (const key of keys) expect(outcome(await attempt(ip, key)), `${ip} ${key.slice(0, 20)}`).toBe(1008);
      // Throttled: a key that needs a lookup gets 429 without one…
      const uncached = (await f.key(['signals'])).key;
      const before = await lookups();
      expect(outcome(await attempt(ip, uncached))).toBe(429);
      // …while a key decided without Redis gets the contract's answer: malformed, or cached revoked / expired
      // → error + 1008; cached valid → connected.
      for (const key of keys.slice(0, 2))
        expect(outcome(await attempt(ip, key)), `${ip} ${key.slice(0, 20)}`).toBe(1008);
      expect((await lookups()) - before).toBe(0);
      expect(outcome(await attempt(ip, valid))).toBe('connected');
    }
  }, 30_000);

  it('answers unknown, revoked, expired and malformed keys byte for byte alike; only "missing" differs', async () => {
    const revoked = await f.key(['signals']);
    await f.backplane.keys.revoke(revoked.id);
    const expired = await f.key(['signals'], 0.05);
    await new Promise((r) => setTimeout(r, 100));
    const cases: [string, string | null][] = [
      ['unknown', generateApiKey()],
      ['revoked', revoked.key],
      ['expired', expired.key],
      ['malformed', 'hydra_k1_!!'],
      ['missing', null],
    ];
    const answers = new Map<string, string>();
    for (const [i, [what, key]] of cases.entries()) {
      const c = await attempt(`127.0.84.${10 + i}`, key);
      expect(c.status, what).toBe(101);
      // Everything after the HTTP head: the error message, then the close frame.
      answers.set(what, JSON.stringify(c.frames.map((fr) => [fr.opcode, fr.payload.toString('base64')])));
      expect(c.closeFrame(), what).toEqual({ code: 1008, reason: 'unauthorized' });
    }
    expect(new Set(['unknown', 'revoked', 'expired', 'malformed'].map((w) => answers.get(w))).size).toBe(1);
    const [error] = (await attempt('127.0.84.20', generateApiKey())).messages();
    expect(error).toEqual({
      type: 'error',
      data: { code: 'unauthorized', message: 'invalid, expired, or revoked API key' },
    });
    expect(answers.get('missing')).toContain(
      Buffer.from('{"type":"error","data":{"code":"unauthorized","message":"missing API key"}}').toString('base64'),
    );
    // The gateway's logs hold no key, valid or not.
    const logs = JSON.stringify(gw.logs);
    for (const [, key] of cases) if (key) expect(logs).not.toContain(key);
    expect(logs).not.toContain(valid);
  });

  it('a key with no scopes: refused at creation; a stored one with none this version knows gets `connected` [] and pings', async () => {
    await expect(f.backplane.keys.create({ scopes: [] })).rejects.toThrow(/at least one scope/);
    const cli = spawnSync(process.execPath, ['apps/cli/dist/cli.js', 'keys', 'create', '--scopes', ',', '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, HYDRA_REDIS_URL: f.redis.url },
      encoding: 'utf8',
      timeout: 20_000, // synchronous: never block the test worker without a bound
    });
    expect(cli.status).toBe(2);
    expect(cli.stdout).toBe('');

    // A record whose scopes are all unknown here (written by a newer version, or a retired scope).
    const { key } = await f.key(['signals']);
    const redis = f.redis.client();
    await redis.hset(redisKeys.apiKeyByHash(hashApiKey(key)), 'scopes', 'weather,planes');
    const c = f.client(withKey(gw.url, key), { localAddress: '127.0.84.30' });
    const [connected] = await c.waitFor((m) => m.type === 'connected');
    expect((connected?.data as { scopes: string[] }).scopes).toEqual([]);
    await f.publish('signals', { kind: 'rf', label: 'not for a scopeless key' });
    await c.until(() => c.pingTimes.length >= 2, 5000, 'two pings');
    expect(c.messages.map((m) => m.type)).toEqual(['connected']);
    expect(c.closeCode).toBeNull();
    await c.close();
  });
});
