import type { EventData, Scope } from '@hydra/protocol';
import { type GatewayProcess, StreamFixture } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Log, RecordingClient, range, stateOf } from './sdk-helpers.js';

const BACKOFF = { initialMs: 100, maxMs: 1000, drainMs: 300 };
const TIER_MS = 1000;

const AIRCRAFT_IDS = 20;

/**
 * Until stopped, every few ms: an upsert of each of the 20 aircraft and one alert, each recorded in `log`.
 * Every batch moves every aircraft, so a tier interval holds many updates of each however slowly a loaded
 * machine runs this loop (one aircraft per batch made the conflation ratio depend on the loop's speed).
 */
function startPublishing(f: StreamFixture, log: Log): { stop: () => Promise<void> } {
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const batch = [
        ...Array.from({ length: AIRCRAFT_IDS }, (_, i) => ({
          scope: 'aircraft' as Scope,
          data: { id: `a${i}`, lat: n % 90, lon: n % 180, n } as EventData,
        })),
        { scope: 'alerts' as Scope, data: { headline: `alert ${n}`, n } as EventData },
      ];
      const published = await f.backplane.bus.publish(batch);
      for (const [i, p] of published.entries()) log.record(p.scope, p.seq, (batch[i] as { data: EventData }).data);
      n++;
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * `conflate` in the SDK: the option reaches the gateway, a conflated entity
 * scope's seq jumps are not taken for gaps (no reconnect), and a reconnect
 * resumes conflated on another replica.
 */
describe('@hydra/client with conflate', () => {
  let f: StreamFixture;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    f = await StreamFixture.start();
    [a, b] = await Promise.all([f.gateway({ HYDRA_DRAIN_MS: '200' }), f.gateway()]);
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('follows a conflated entity scope without false gaps, resumes it conflated on another replica, and ends equal to the log', async () => {
    const { key } = await f.key(['aircraft', 'alerts']);
    const log = new Log();
    const c = new RecordingClient({ url: [a.url, b.url], apiKey: key, conflate: TIER_MS, backoff: BACKOFF });
    await c.until(() => c.snapshots.length === 2, 15_000, 'both snapshots');
    const publishing = startPublishing(f, log);
    // Two flushes of aircraft, alerts all along.
    await c.until(
      () => new Set(c.events.filter((e) => e.type === 'aircraft').map((e) => e.seq)).size >= 25,
      15_000,
      'two flushes',
    );
    expect(c.ofState('reconnecting')).toEqual([]);

    a.kill('SIGTERM');
    await c.until(() => c.ofState('reconnecting').length >= 1, 15_000, 'the 1001');
    await c.until(() => c.ofState('open').length >= 2, 15_000, 'the resumed connection');
    await c.until(() => c.events.filter((e) => e.type === 'aircraft').length >= 60, 15_000, 'flushes after the resume');
    await publishing.stop();
    await c.until(
      () => c.lastSeq('aircraft') === log.last('aircraft') && c.lastSeq('alerts') === log.last('alerts'),
      15_000,
      'the last published events',
    );

    // One drain, no gap taken for one: the only reconnect is the 1001.
    expect(c.ofState('reconnecting').map((s) => s.code)).toEqual([1001]);
    expect(c.snapshots).toHaveLength(2);
    expect(c.resyncs).toEqual([]);
    const aircraft = c.seqs('aircraft');
    expect(aircraft).toEqual([...aircraft].sort((x, y) => x - y));
    const snapshotSeq = c.snapshots.find((s) => s.scope === 'aircraft')?.seq ?? 0;
    expect(aircraft.length).toBeLessThan((log.last('aircraft') - snapshotSeq) / 4);
    for (const e of c.events) expect(e.data).toEqual(log.data(e.type, e.seq));
    expect(stateOf(c.client.entities('aircraft'))).toEqual(stateOf(log.entitiesAt('aircraft', log.last('aircraft'))));
    // The log scope is never conflated: every alert, in order.
    const alertsFrom = (c.snapshots.find((s) => s.scope === 'alerts')?.seq ?? 0) + 1;
    expect(c.seqs('alerts')).toEqual(range(alertsFrom, log.last('alerts')));
    c.client.close();
  });
});
