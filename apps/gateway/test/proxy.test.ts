import { connect, type Socket } from 'node:net';
import type { GatewayProcess, StreamClient } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Client IP behind proxies (guarantee 2): `X-Forwarded-For` and the PROXY
 * protocol are believed only from HYDRA_TRUSTED_PROXIES; the per-IP limit is
 * the observable. 127.0.40.1 plays the load balancer, 10.0.0.0/8 an inner
 * proxy tier; 127.0.40.2 and 127.0.40.3 are ordinary (untrusted) peers.
 */
const PROXY = '127.0.40.1';
const LIMIT = 10;

describe('client IP behind trusted proxies', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let key: string;
  const rawSockets: Socket[] = [];

  beforeAll(async () => {
    f = await StreamFixture.start();
    key = (await f.key(['signals'])).key;
    gw = await f.gateway({
      HYDRA_TRUSTED_PROXIES: `${PROXY}/32,10.0.0.0/8`,
      HYDRA_MAX_CONNECTIONS_PER_IP: String(LIMIT),
    });
  });
  afterAll(async () => {
    for (const s of rawSockets) s.destroy();
    await f?.stop();
  });

  /**
   * One upgrade from `from`, optionally with an X-Forwarded-For header: 'connected' or the HTTP refusal
   * status. A connection upgraded (101) but dropped with 1006 before any message is retried (at most
   * twice), as clients are told to: uWS 20.30 can close a freshly upgraded socket after an async upgrade
   * (uWebSockets#1928), most often after a run of 429s like these tests make. The drop frees its slot,
   * so a retry cannot make a limit look looser.
   */
  const attempt = async (
    from: string,
    xff?: string,
  ): Promise<{ outcome: 'connected' | number; client: StreamClient }> => {
    for (let tries = 0; ; tries++) {
      const client = f.client(withKey(gw.url, key, '&snapshot=false'), {
        localAddress: from,
        headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
      });
      let upgraded = false;
      client.opened.then(
        () => {
          upgraded = true;
        },
        () => undefined,
      );
      const outcome = await Promise.race([
        client.waitFor((m) => m.type === 'connected').then(() => 'connected' as const),
        client.waitForRefusal().then((r) => r.status),
        // Only a socket that was upgraded can be dropped; a refused one is answered by the branch above.
        client.closed.then(() => (upgraded ? ('dropped' as const) : new Promise<never>(() => undefined))),
      ]);
      if (outcome !== 'dropped') return { outcome, client };
      if (tries === 2) throw new Error(`${from}: dropped (1006) before any message, three times`);
    }
  };
  const outcomeOf = async (from: string, xff?: string) => (await attempt(from, xff)).outcome;

  it('counts connections a trusted proxy forwards against the X-Forwarded-For client', async () => {
    for (let i = 0; i < LIMIT; i++) expect(await outcomeOf(PROXY, '203.0.113.7')).toBe('connected');

    const over = await attempt(PROXY, '203.0.113.7');
    expect(over.outcome).toBe(429);
    expect(over.client.unexpectedResponse).toEqual({ status: 429, body: 'Too Many Connections' });
    // The same proxy still admits other clients, and itself (no header): the limit is per client, not per proxy.
    expect(await outcomeOf(PROXY, '203.0.113.8')).toBe('connected');
    expect(await outcomeOf(PROXY)).toBe('connected');
    // The same header from an untrusted peer is not that client: it is counted against the peer.
    expect(await outcomeOf('127.0.40.2', '203.0.113.7')).toBe('connected');
  });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer: varying it does not escape the limit', async () => {
    const peer = '127.0.40.5';
    for (let i = 0; i < LIMIT; i++) expect(await outcomeOf(peer, `198.51.100.${i + 1}`)).toBe('connected');
    const spoofs = ['198.51.100.99', '203.0.113.200', `${PROXY}`, '10.1.2.3', '198.51.100.1, 203.0.113.9'];
    for (const spoof of spoofs) expect(await outcomeOf(peer, spoof), spoof).toBe(429);
    expect(await outcomeOf(peer)).toBe(429);
    // None of the spoofed addresses was charged: the proxy can still forward ten of 198.51.100.1.
    for (let i = 0; i < LIMIT; i++) expect(await outcomeOf(PROXY, '198.51.100.1')).toBe('connected');
  });

  it('takes the right-most untrusted hop of a multi-hop chain (spoofed, real, trusted inner proxy)', async () => {
    const real = '203.0.113.50';
    // The client prepends whatever it likes; the inner proxy (10.1.2.3) appended the real address.
    for (let i = 0; i < LIMIT; i++) {
      expect(await outcomeOf(PROXY, `198.51.100.${100 + i}, ${real}, 10.1.2.3`)).toBe('connected');
    }
    expect(await outcomeOf(PROXY, `198.51.100.250, ${real}, 10.1.2.3`)).toBe(429);
    expect(await outcomeOf(PROXY, `${real}, 10.1.2.3`)).toBe(429);
    expect(await outcomeOf(PROXY, real)).toBe(429);
    // Neither the spoofed hops nor the inner proxy were charged.
    expect(await outcomeOf(PROXY, '198.51.100.100')).toBe('connected');
    expect(await outcomeOf(PROXY, '10.1.2.3')).toBe('connected');
  });

  describe('PROXY protocol v2 (uWS parses it; the gateway believes it only from a trusted peer)', () => {
    it('counts a trusted load balancer’s PROXY source address, and ignores it from anyone else', async () => {
      const source = '203.0.113.90';
      for (let i = 0; i < LIMIT; i++) expect(await rawUpgrade(PROXY, source)).toBe(101);
      expect(await rawUpgrade(PROXY, source)).toBe(429);
      expect(await rawUpgrade(PROXY, '203.0.113.91')).toBe(101);
      expect(await rawUpgrade(PROXY)).toBe(101);

      // An untrusted peer's PROXY header is parsed by uWS but not believed.
      const peer = '127.0.40.3';
      expect(await rawUpgrade(peer, source)).toBe(101);
      for (let i = 1; i < LIMIT; i++) expect(await rawUpgrade(peer, `198.51.100.${i}`)).toBe(101);
      expect(await rawUpgrade(peer, '198.51.100.77')).toBe(429);
      expect(await rawUpgrade(peer)).toBe(429);
    });
  });

  /**
   * A WebSocket upgrade over a raw socket from `from`, preceded by a PROXY v2
   * header claiming `source` when given. Resolves with the HTTP status; an
   * admitted socket stays open (holding its slot) until the suite ends.
   */
  function rawUpgrade(from: string, source?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: gw.port, localAddress: from });
      rawSockets.push(socket);
      if (source !== undefined) socket.write(proxyV2Header(source, '127.0.0.1', 40000, gw.port));
      socket.write(
        [
          `GET /v1/stream?apiKey=${encodeURIComponent(key)}&snapshot=false HTTP/1.1`,
          `Host: 127.0.0.1:${gw.port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
        if (match) {
          socket.removeAllListeners('data');
          resolve(Number(match[1]));
        }
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`closed before a status line: ${JSON.stringify(head)}`)));
    });
  }
});

/** PROXY protocol v2, PROXY command, TCP over IPv4. */
function proxyV2Header(src: string, dst: string, srcPort: number, dstPort: number): Buffer {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const body = Buffer.alloc(12);
  for (const [i, octet] of [...src.split('.'), ...dst.split('.')].entries()) body.writeUInt8(Number(octet), i);
  body.writeUInt16BE(srcPort, 8);
  body.writeUInt16BE(dstPort, 10);
  const header = Buffer.from([0x21, 0x11, 0x00, body.length]);
  return Buffer.concat([signature, header, body]);
}
