import { CloseCode } from '@hydra/protocol';
import type { GatewayProcess, StreamClient } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUERY_LENGTH } from '../src/stream-query.js';
import { MAX_HEADER_BYTES } from '../src/upgrade-handler.js';
import { RawClient, rawUpgrade, upgradeRequest } from './raw-socket.js';

/**
 * Hostile HTTP heads on the stream port. The limits are uWebSockets.js
 * 20.30's own, as observed here:
 *
 * - HTTP timeout: a connection whose request head is not complete is closed
 *   after about 10 s (uWS's HTTP_IDLE_TIMEOUT_S, checked on a 4 s timer, so
 *   8–12 s), however slowly it trickles bytes: the timer is not reset by
 *   partial data. No response is written.
 * - header block: a head that spans several reads may hold at most 4 KiB
 *   (UWS_HTTP_MAX_HEADERS_SIZE); past that the connection is closed at once
 *   without a response (uWS 20.30 writes no 431, and no JavaScript sees the
 *   request). A head that arrives in one read is parsed in place and reaches
 *   the gateway, which answers 431 past MAX_HEADER_BYTES of header fields.
 * - header count: a request with too many headers (about 50) is not parsed
 *   and not answered; the HTTP timeout closes it.
 * - query string: the gateway's own limit, MAX_QUERY_LENGTH (4 KiB) → 414.
 */
describe('hostile HTTP upgrade requests', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let key: string;
  const raws: RawClient[] = [];

  beforeAll(async () => {
    f = await StreamFixture.start();
    gw = await f.gateway();
    key = (await f.key(['signals'])).key;
  });
  afterAll(async () => {
    for (const r of raws) r.destroy();
    await f?.stop();
  });

  const raw = (localAddress?: string) => {
    const c = new RawClient(gw.port, { localAddress });
    raws.push(c);
    return c;
  };
  const connectNormally = async (ip: string): Promise<StreamClient> => {
    const c = f.client(withKey(gw.url, key, '&snapshot=false'), { localAddress: ip });
    await c.waitFor((m) => m.type === 'connected');
    return c;
  };

  it('closes a slowloris upgrade (one byte per 100 ms) and a head with too many headers within ~10 s; others are served meanwhile', async () => {
    const slow = raw('127.0.81.1');
    await slow.connected;
    const request = upgradeRequest(`/v1/stream?apiKey=${key}`);
    const trickle = slow.trickle(request, 100);

    const crowded = raw('127.0.81.2');
    await crowded.connected;
    const manyHeaders = Array.from({ length: 60 }, (_, i): [string, string] => [`x-h${i}`, 'v']);
    crowded.write(upgradeRequest(`/v1/stream?apiKey=${key}`, manyHeaders));

    // Meanwhile, ordinary clients connect and receive events without delay.
    const started = performance.now();
    const others = await Promise.all([1, 2, 3, 4, 5].map((i) => connectNormally(`127.0.81.${10 + i}`)));
    await f.publish('signals', { kind: 'rf', label: 'while trickled' });
    await Promise.all(others.map((c) => c.waitFor((m) => m.type === 'signals')));
    expect(performance.now() - started).toBeLessThan(3000);

    const [slowEnd, crowdedEnd] = await Promise.all([slow.ended, crowded.ended]);
    // Bound: uWS's 10 s timeout on its 4 s tick, plus slack for a loaded CI machine.
    expect(slowEnd.afterMs).toBeGreaterThan(7000);
    expect(slowEnd.afterMs).toBeLessThan(16_000);
    expect(trickle.sent()).toBeLessThan(request.length); // cut off mid-head…
    expect(slow.head).toBe(''); // …and never answered.
    expect(crowdedEnd.afterMs).toBeLessThan(16_000);
    expect(crowded.head).toBe('');
    for (const c of others) expect(c.closeCode).toBeNull();
  }, 30_000);

  it(`answers 414 to a query string over ${MAX_QUERY_LENGTH} characters and serves one of exactly that length`, async () => {
    const pad = (length: number) => {
      const base = `apiKey=${key}&snapshot=false&pad=`;
      return `${base}${'a'.repeat(length - base.length)}`;
    };
    const long = await rawUpgrade(gw.port, `/v1/stream?${pad(MAX_QUERY_LENGTH + 1)}`, { localAddress: '127.0.81.20' });
    expect(long.status).toBe(414);
    await long.until(() => long.body === 'Query string too long');

    const exact = await rawUpgrade(gw.port, `/v1/stream?${pad(MAX_QUERY_LENGTH)}`, { localAddress: '127.0.81.21' });
    expect(exact.status).toBe(101);
    await exact.until(() => exact.messages().some((m) => m.type === 'connected'));
    exact.destroy();
  });

  it('answers 400 to a handshake whose Connection header says close, and serves the usual spellings', async () => {
    // Without this check uWS answers 101 and closes the socket at once (a bare 1006 for the client).
    for (const [i, value] of ['close', 'Close'].entries()) {
      const refused = await rawUpgrade(gw.port, `/v1/stream?apiKey=${key}&snapshot=false`, {
        headers: { Connection: value },
        localAddress: `127.0.81.${30 + i}`,
      });
      expect(refused.status).toBe(400);
      await refused.until(() => refused.body === 'Connection: close cannot be upgraded; send Connection: Upgrade');
    }
    // Also `keep-alive` alone: a proxy may send the Upgrade token on a second Connection line, which uWS does not read.
    for (const [i, value] of ['Upgrade', 'upgrade', 'keep-alive, Upgrade', 'Upgrade, close', 'keep-alive'].entries()) {
      const ok = await rawUpgrade(gw.port, `/v1/stream?apiKey=${key}&snapshot=false`, {
        headers: { Connection: value },
        localAddress: `127.0.81.${40 + i}`,
      });
      expect(ok.status).toBe(101);
      await ok.until(() => ok.messages().some((m) => m.type === 'connected'));
      ok.destroy();
    }
  });

  it('closes, without an answer, a header block over 4 KiB that arrives in pieces', async () => {
    const c = raw('127.0.81.30');
    await c.connected;
    const request = upgradeRequest(`/v1/stream?apiKey=${key}`, { 'x-padding': 'p'.repeat(5000) });
    c.write(request.slice(0, 200));
    await new Promise((r) => setTimeout(r, 100)); // a second read
    c.write(request.slice(200));
    const { afterMs } = await c.ended;
    expect(afterMs).toBeLessThan(5000);
    expect(c.head).toBe('');

    // Under the bound, in pieces as well, the same request is served.
    const ok = raw('127.0.81.31');
    await ok.connected;
    const fits = upgradeRequest(`/v1/stream?apiKey=${key}&snapshot=false`, { 'x-padding': 'p'.repeat(3000) });
    ok.write(fits.slice(0, 200));
    await new Promise((r) => setTimeout(r, 100));
    ok.write(fits.slice(200));
    await ok.response();
    expect(ok.status).toBe(101);
    await ok.until(() => ok.messages().some((m) => m.type === 'connected'));
  });

  it('repeated keys and parameters: the first one wins, whatever follows', async () => {
    const bogus = 'hydra_k1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const headers: [string, string][] = [
      ['x-api-key', key],
      ...Array.from({ length: 20 }, (): [string, string] => ['x-api-key', bogus]),
    ];
    const byHeader = await rawUpgrade(gw.port, '/v1/stream?snapshot=false', { headers, localAddress: '127.0.81.40' });
    await byHeader.until(() => byHeader.messages().some((m) => m.type === 'connected'));
    byHeader.destroy();

    const query = `apiKey=${key}&${Array.from({ length: 40 }, () => `apiKey=${bogus}&snapshot=true`).join('&')}`;
    const byQuery = await rawUpgrade(gw.port, `/v1/stream?${query}`, { localAddress: '127.0.81.41' });
    await byQuery.until(() => byQuery.messages().some((m) => m.type === 'connected'));
    byQuery.destroy();

    // The query key wins over the header (documented order): a bogus one in the query is refused.
    const c = f.client(withKey(gw.url, bogus), { headers: { 'x-api-key': key }, localAddress: '127.0.81.42' });
    expect((await c.closed).code).toBe(CloseCode.Unauthorized);
  });

  it('answers 426 with Sec-WebSocket-Version: 13 to a handshake of another version, or of none', async () => {
    // uWS itself checks no version: without this the gateway answered 101 to any.
    const path = `/v1/stream?apiKey=${key}&snapshot=false`;
    for (const [i, version] of ['8', '12', '14', '', '13, 8'].entries()) {
      const c = await rawUpgrade(gw.port, path, {
        headers: { 'Sec-WebSocket-Version': version },
        localAddress: `127.0.81.${60 + i}`,
      });
      expect(c.status, `version ${JSON.stringify(version)}`).toBe(426);
      expect(c.head).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
      expect(c.head).toMatch(/\r\nsec-websocket-version: 13(\r\n|$)/i);
      await c.until(() => c.body === 'Unsupported WebSocket version; send Sec-WebSocket-Version: 13');
      c.destroy();
    }
    // No version line at all.
    const none = raw('127.0.81.66');
    await none.connected;
    none.write(upgradeRequest(path).replace('Sec-WebSocket-Version: 13\r\n', ''));
    expect(await none.response()).toBe(426);
  });

  it('answers 400 to an empty, missing or malformed Sec-WebSocket-Key (RFC 6455: base64 of 16 bytes)', async () => {
    // uWS routes only a 24-character key to the stream (others got its 404), and checks nothing more (101).
    const path = `/v1/stream?apiKey=${key}&snapshot=false`;
    const malformed = [
      '',
      'short',
      '!!!!!!!!!!!!!!!!!!!!!!!!', // 24 characters, not base64
      'AAAAAAAAAAAAAAAAAAAAAAAA', // 24 characters of base64, 18 bytes
      Buffer.alloc(15).toString('base64'),
      Buffer.alloc(17).toString('base64'),
      `${Buffer.alloc(16).toString('base64')} x`,
    ];
    for (const [i, secKey] of malformed.entries()) {
      const c = await rawUpgrade(gw.port, path, {
        headers: { 'Sec-WebSocket-Key': secKey },
        localAddress: `127.0.81.${70 + i}`,
      });
      expect(c.status, `key ${JSON.stringify(secKey)}`).toBe(400);
      await c.until(() => c.body === 'Sec-WebSocket-Key must be the base64 encoding of 16 bytes');
      c.destroy();
    }
    const missing = raw('127.0.81.80');
    await missing.connected;
    missing.write(upgradeRequest(path).replace(/Sec-WebSocket-Key: .*\r\n/, ''));
    expect(await missing.response()).toBe(400);

    // A plain GET of the stream path, or an upgrade elsewhere, is still 404.
    const plain = await fetch(`http://127.0.0.1:${gw.port}/v1/stream`);
    expect(plain.status).toBe(404);
    const elsewhere = await rawUpgrade(gw.port, '/v1/other', { localAddress: '127.0.81.81' });
    expect(elsewhere.status).toBe(404);
    elsewhere.destroy();
    // A well-formed key is served.
    const ok = await rawUpgrade(gw.port, path, {
      headers: { 'Sec-WebSocket-Key': Buffer.alloc(16, 7).toString('base64') },
      localAddress: '127.0.81.82',
    });
    expect(ok.status).toBe(101);
    await ok.until(() => ok.messages().some((m) => m.type === 'connected'));
    ok.destroy();
  });

  it(`answers 431 to header fields over ${MAX_HEADER_BYTES} bytes that arrive in one read`, async () => {
    const path = `/v1/stream?apiKey=${key}&snapshot=false`;
    const big = await rawUpgrade(gw.port, path, {
      headers: { 'x-padding': 'p'.repeat(MAX_HEADER_BYTES) },
      localAddress: '127.0.81.90',
    });
    expect(big.status).toBe(431);
    await big.until(() => big.body === `Request header fields over ${MAX_HEADER_BYTES} bytes`);
    big.destroy();
    // Larger, still one write within one loopback segment: the same answer.
    const huge = await rawUpgrade(gw.port, path, {
      headers: { 'x-padding': 'p'.repeat(16 * 1024) },
      localAddress: '127.0.81.91',
    });
    expect(huge.status).toBe(431);
    huge.destroy();
    // Under the bound, in one read, the same request is served.
    const fits = await rawUpgrade(gw.port, path, {
      headers: { 'x-padding': 'p'.repeat(3500) },
      localAddress: '127.0.81.92',
    });
    expect(fits.status).toBe(101);
    await fits.until(() => fits.messages().some((m) => m.type === 'connected'));
    fits.destroy();
  });

  it('is still up and serving afterwards', async () => {
    expect(gw.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${gw.adminPort}/healthz`)).status).toBe(200);
    await (await connectNormally('127.0.81.50')).close();
  });
});
