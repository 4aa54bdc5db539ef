import { coverBoxes, type EventData, type GeoBox, type IngestEvent, tileOf } from '@hydra/protocol';
import { type GatewayProcess, StreamFixture } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingClient, stateOf } from './sdk-helpers.js';

/** Western Europe; a box inside it; the Gulf of Mexico (disjoint). */
const EUROPE: GeoBox = { minLon: -4, minLat: 42, maxLon: 14, maxLat: 56 };
const INSIDE: GeoBox = { minLon: 0, minLat: 46, maxLon: 8, maxLat: 52 };
const GULF: GeoBox = { minLon: -98, minLat: 18, maxLon: -82, maxLat: 30 };

const inTiles = (boxes: GeoBox[]) => {
  const tiles = new Set(coverBoxes(boxes));
  return (data: EventData): boolean => tiles.has(tileOf(data.lat, data.lon));
};

/**
 * The published log's aircraft state, and moves that take aircraft in and
 * out of the boxes' tiles (and across the world), deterministically.
 */
class World {
  readonly state = new Map<string, EventData>();
  private n = 0;

  constructor(private readonly f: StreamFixture) {}

  /** Where aircraft `i` is at step `n`: the boxes' areas and elsewhere in turn. */
  private place(i: number, n: number): { lat: number; lon: number } {
    switch ((i + n) % 4) {
      case 0:
        return { lat: 44 + (i % 10), lon: -2 + i / 4 }; // Europe
      case 1:
        return { lat: 20 + (i % 8), lon: -96 + (i % 12) }; // Gulf of Mexico
      case 2:
        return { lat: -30 + i / 2, lon: 120 + (i % 30) }; // elsewhere
      default:
        return { lat: 47 + (i % 4), lon: 1 + (i % 6) }; // inside INSIDE
    }
  }

  /** Moves `count` aircraft one step each. */
  async move(count = 60): Promise<void> {
    const step = this.n++;
    const batch: IngestEvent[] = [];
    for (let i = 0; i < count; i++) {
      const data: EventData = { id: `a${i}`, step, ...this.place(i, step) };
      this.state.set(String(data.id), data);
      batch.push({ scope: 'aircraft', data });
    }
    await this.f.backplane.bus.publish(batch);
  }

  /** A marker inside every box but the Gulf's: once held, everything before it was processed. */
  async marker(where: GeoBox = INSIDE): Promise<number> {
    const data = { id: 'marker', step: this.n++, lat: where.minLat + 1, lon: where.minLon + 1 };
    this.state.set('marker', data);
    return this.f.publish('aircraft', data);
  }

  filtered(boxes: GeoBox[]): Map<string, EventData> {
    return new Map([...this.state].filter(([, data]) => inTiles(boxes)(data)));
  }
}

const holds = (c: RecordingClient, world: World) => () =>
  c.client.entities('aircraft').get('marker')?.step === world.state.get('marker')?.step;
const snapshotsOf = (c: RecordingClient, scope: string) => c.snapshots.filter((s) => s.scope === scope).length;

/**
 * HydraClient.setFilter against a real gateway and Redis: a narrowing
 * (world to region, region to a region inside it) resumes and prunes, a
 * widening or another area takes a fresh entity snapshot; either way
 * entities() ends equal to the log as the new filter sees it, and log scopes
 * resume without a loss or a duplicate.
 */
describe('HydraClient.setFilter', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let key: string;
  let world: World;
  let c: RecordingClient;

  beforeAll(async () => {
    f = await StreamFixture.start();
    gw = await f.gateway();
    key = (await f.key(['aircraft', 'alerts'])).key;
    world = new World(f);
    await world.move();
    await f.publish('alerts', { headline: 'before' });
    c = new RecordingClient({ url: gw.url, apiKey: key, conflate: 1000 });
    await c.until(() => snapshotsOf(c, 'aircraft') === 1 && snapshotsOf(c, 'alerts') === 1, 15_000, 'snapshots');
  });
  afterAll(async () => {
    c?.client.close();
    await f?.stop();
  });

  it('world tier to a region: resumes (no snapshot), prunes at once, then follows the region exactly', async () => {
    await world.move();
    await world.marker();
    await c.until(holds(c, world), 15_000, 'the conflated marker');
    expect(c.client.setFilter({ bbox: [EUROPE] })).toBe('resume');
    // Pruned before any message of the new connection: only the region's entities are left.
    const held = [...c.client.entities('aircraft').values()];
    expect(held.length).toBeGreaterThan(0);
    for (const data of held) expect(inTiles([EUROPE])(data)).toBe(true);

    // A third of the aircraft move (in, out, within): the others' state is the pruned one.
    for (let i = 0; i < 3; i++) await world.move(20);
    const alertSeq = await f.publish('alerts', { headline: 'during the region' });
    await world.marker();
    await c.until(holds(c, world), 15_000, 'the marker in the region');
    expect(stateOf(c.client.entities('aircraft'))).toEqual(stateOf(world.filtered([EUROPE])));
    expect(snapshotsOf(c, 'aircraft')).toBe(1);
    expect(snapshotsOf(c, 'alerts')).toBe(1);
    const alerts = c.seqs('alerts');
    expect(new Set(alerts).size).toBe(alerts.length);
    await c.until(() => c.seqs('alerts').includes(alertSeq), 15_000, 'the alert');
    expect(c.resyncs).toEqual([]);
  });

  it('a region inside the region resumes; another area takes a fresh snapshot', async () => {
    expect(c.client.setFilter({ bbox: [INSIDE] })).toBe('resume');
    await world.move(20);
    await world.marker();
    await c.until(holds(c, world), 15_000, 'the marker inside');
    expect(stateOf(c.client.entities('aircraft'))).toEqual(stateOf(world.filtered([INSIDE])));
    expect(snapshotsOf(c, 'aircraft')).toBe(1);

    expect(c.client.setFilter({ bbox: [GULF] })).toBe('snapshot');
    await c.until(() => snapshotsOf(c, 'aircraft') === 2, 15_000, 'the Gulf snapshot');
    await world.move();
    await world.marker(GULF);
    await c.until(holds(c, world), 15_000, 'the marker in the Gulf');
    expect(stateOf(c.client.entities('aircraft'))).toEqual(stateOf(world.filtered([GULF])));
    expect(snapshotsOf(c, 'alerts')).toBe(1);
  });

  it('a region back to the world tier takes a fresh snapshot of the whole scope', async () => {
    expect(c.client.setFilter({ conflate: 1000 })).toBe('snapshot');
    await c.until(() => snapshotsOf(c, 'aircraft') === 3, 15_000, 'the world snapshot');
    await world.move();
    await world.marker();
    await c.until(holds(c, world), 15_000, 'the conflated marker');
    expect(stateOf(c.client.entities('aircraft'))).toEqual(stateOf(world.state));
    expect(snapshotsOf(c, 'alerts')).toBe(1);
    expect(c.resyncs).toEqual([]);
  });

  it('refuses bbox with conflate without touching the connection', () => {
    expect(() => c.client.setFilter({ bbox: [EUROPE], conflate: 5000 })).toThrow(/exclude each other/);
    expect(c.statuses.at(-1)?.state).toBe('open');
  });
});
