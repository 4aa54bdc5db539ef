import type { GatewayProcess } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const INTERVAL_MS = 300;

/**
 * The opt-in application heartbeat (`heartbeat=true`, heartbeat-topic.ts):
 * a `heartbeat` message every ping interval whether or not data flows, for
 * clients that cannot see protocol pings. Without the option the stream is
 * the seed's, unchanged.
 */
describe('heartbeat=true', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;

  beforeAll(async () => {
    f = await StreamFixture.start();
    gw = await f.gateway({ HYDRA_PING_INTERVAL_MS: String(INTERVAL_MS) });
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('sends a heartbeat message every ping interval to a client that asked, none to the others', async () => {
    const { key } = await f.key(['signals']);
    const asked = await f.connectedClient(withKey(gw.url, key, '&heartbeat=true&snapshot=false'));
    const plain = await f.connectedClient(withKey(gw.url, key, '&snapshot=false'));
    const beats = await asked.waitFor((m) => m.type === 'heartbeat', 4, 5000);
    for (const beat of beats) expect(beat.data).toEqual({ ts: expect.any(Number), intervalMs: INTERVAL_MS });
    const times = beats.map((b) => (b.data as { ts: number }).ts);
    for (let i = 1; i < times.length; i++) {
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(INTERVAL_MS - 50);
      expect((times[i] as number) - (times[i - 1] as number)).toBeLessThan(INTERVAL_MS * 3);
    }
    // Pings go on as before, to both.
    await plain.until(() => plain.pingTimes.length >= 2, 5000, 'two pings');
    expect(plain.messages.map((m) => m.type)).toEqual(['connected']);
    expect(asked.pingTimes.length).toBeGreaterThanOrEqual(1);
    await Promise.all([asked.close(), plain.close()]);
  });
});
