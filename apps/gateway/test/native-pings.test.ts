import type { GatewayProcess } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from './fault-helpers.js';

/** The shortest interval uWS's idle pings serve: pings every 8 s, a dead peer closed 8 s after its ping. */
const INTERVAL_MS = 8000;
/**
 * uWS's timers fire on a 4 s tick with no drift, and the client records a
 * ping when its event loop gets to it: on this shared 2-core box that can
 * lag by a second or more, so a gap is checked against the interval plus
 * this (an interval missed entirely would be 16 s, far above).
 */
const LAG_MS = 2500;

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - (times[i] as number));

/**
 * Guarantee 5 with uWS's idle pings (native-pings.ts, heartbeat.ts): an
 * interval of 8 s or more is timed by uWS in C++, and what would hold its
 * ping back (a client that pings us or sends data) hands the session to
 * the gateway's own timer. Every client is pinged at least every interval,
 * traffic or not; a peer that stops answering is closed and counted.
 */
describe('uWS idle pings (HYDRA_PING_INTERVAL_MS >= 8000)', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;

  beforeAll(async () => {
    f = await StreamFixture.start();
    gw = await f.gateway({ HYDRA_PING_INTERVAL_MS: String(INTERVAL_MS) });
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('pings idle, busy, pinging and chatty clients every interval and drops a silent one', async () => {
    const { key } = await f.key(['signals']);
    const url = withKey(gw.url, key, '&snapshot=false');
    const [idle, pinging, chatty] = await Promise.all([
      f.connectedClient(url),
      f.connectedClient(url),
      f.connectedClient(url),
    ]);
    const silent = await f.connectedClient(url, { autoPong: false });
    const silentSince = performance.now();
    // The pinging client's own pings and the chatty one's messages each reset uWS's idle timer: without the
    // gateway's timer taking them over they would never be pinged. (Two messages a second would pass the
    // client message budget within the test; one every 2 s stays under it.)
    const pingTimer = setInterval(() => pinging.ws.ping(), 1000);
    const chatTimer = setInterval(() => chatty.ws.send('hello'), 2000);
    // Live traffic throughout: the fan-out's writes do not hold uWS's ping back.
    let publishing = true;
    const traffic = (async () => {
      for (let i = 0; publishing && i < 5000; i++) {
        await f.publish('signals', { kind: 'rf', label: `t${i}` });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const { code } = await silent.closed;
      expect(code).toBe(1006); // closed by uWS without a close handshake
      // Pinged once after 8 s of silence, closed 8 s later (4 s ticks, plus the client's lag).
      expect(silent.pingTimes.length).toBeGreaterThanOrEqual(1);
      expect(performance.now() - silentSince).toBeLessThan(2 * INTERVAL_MS + 4000 + LAG_MS);
      for (const c of [idle, pinging, chatty]) {
        await c.until(() => c.pingTimes.length >= 3, 4 * INTERVAL_MS, 'three pings');
      }
    } finally {
      clearInterval(pingTimer);
      clearInterval(chatTimer);
      publishing = false;
      await traffic;
    }
    expect(idle.ofType('signals').length).toBeGreaterThan(50);
    for (const c of [idle, pinging, chatty]) {
      expect(c.closeCode).toBeNull();
      for (const gap of gaps(c.pingTimes)) expect(gap).toBeLessThan(INTERVAL_MS + LAG_MS);
    }
    expect(await metricValue(gw, 'hydra_dead_peers_total')).toBe(1);
    await Promise.all([idle, pinging, chatty].map((c) => c.close()));
  }, 90_000);
});
