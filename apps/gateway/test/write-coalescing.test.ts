import { StreamFixture } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Opcode, type RawClient, rawUpgrade } from './raw-socket.js';

const INTERVAL_MS = 300;

/**
 * HYDRA_WRITE_COALESCE_MS: after a quiet interval an event goes out at once;
 * events arriving within the interval after a write are held and written to
 * each client together, one interval after the previous write.
 */
describe('write coalescing', () => {
  let f: StreamFixture;
  let client: RawClient;
  beforeAll(async () => {
    f = await StreamFixture.start();
    const gw = await f.gateway({ HYDRA_WRITE_COALESCE_MS: String(INTERVAL_MS) });
    const { key } = await f.key(['signals']);
    client = await rawUpgrade(gw.port, `/v1/stream?apiKey=${key}&snapshot=false`);
    expect(client.status).toBe(101);
    await client.until(() => client.messages().some((m) => m.type === 'connected'));
  });
  afterAll(async () => {
    client?.destroy();
    await f?.stop();
  });

  const arrival = (label: string) =>
    client.until(
      () => {
        const i = client.frames.findIndex(
          (fr) => fr.opcode === Opcode.Text && fr.payload.toString().includes(`"label":"${label}"`),
        );
        return i >= 0 ? { at: performance.now(), read: client.frames[i]?.read ?? -1 } : null;
      },
      10_000,
      label,
    );

  it('sends the first event of a quiet stream at once, then the next ones together one interval later', async () => {
    const publishedAt = performance.now();
    await f.publish('signals', { label: 'first' });
    const first = await arrival('first');
    expect(first.at - publishedAt).toBeLessThan(INTERVAL_MS);

    // Four events, each its own Redis round trip (the gateway gets them in separate reads).
    for (let i = 0; i < 4; i++) await f.publish('signals', { label: `next-${i}` });
    const next = await Promise.all([0, 1, 2, 3].map((i) => arrival(`next-${i}`)));

    expect(Math.min(...next.map((n) => n.at)) - first.at).toBeGreaterThanOrEqual(INTERVAL_MS - 50);
    expect(new Set(next.map((n) => n.read)).size).toBe(1);
    const seqs = client.messages().flatMap((m) => (m.type === 'signals' ? [(m as { seq: number }).seq] : []));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
  });
});
