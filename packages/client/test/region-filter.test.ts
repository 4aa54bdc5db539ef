import { coverBoxes, type EventData, type GeoBox, type IngestEvent, tileOf } from '@hydra/protocol';
import { type GatewayProcess, StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingClient, stateOf } from './sdk-helpers.js';

/** Quick retries: the replacement gateway is already up. */
const BACKOFF = { initialMs: 100, maxMs: 1000, drainMs: 300 };

/** A box in the Gulf of Guinea, and one across the antimeridian. */
const BOXES: GeoBox[] = [
  { minLon: 0.5, minLat: 0.5, maxLon: 7, maxLat: 7 },
  { minLon: 178, minLat: -6, maxLon: -179, maxLat: -3 },
];
const TILES = new Set(coverBoxes(BOXES));
const BBOX_QUERY = BOXES.map((b) => `&bbox=${b.minLon},${b.minLat},${b.maxLon},${b.maxLat}`).join('');

/** Whether an entity's state is in the boxes' tiles: what a bbox client holds (tile granularity). */
const inTiles = (data: EventData): boolean => TILES.has(tileOf(data.lat, data.lon));

/** A small deterministic random source (mulberry32): a failure replays the same moves. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The published log's entity state (upserts replace, deletes remove) and a
 * publisher of random moves: positions in and around the boxes (inside,
 * in a covered tile outside the box, outside every tile, across the
 * antimeridian), some without a position, some deletes.
 */
class World {
  readonly state = new Map<string, EventData>();
  private readonly next = random(17);
  private n = 0;

  constructor(private readonly f: StreamFixture) {}

  private position(): { lat?: number; lon?: number } {
    const r = this.next();
    if (r < 0.05) return {}; // no position
    if (r < 0.15)
      return { lat: -4 - this.next() * 3, lon: this.next() < 0.5 ? 177 + this.next() * 3 : -180 + this.next() * 3 };
    return { lat: -3 + this.next() * 14, lon: -3 + this.next() * 14 };
  }

  /** Publishes `count` random events over `entities` ids; resolves with the last seq. */
  async publish(count: number, entities = 40): Promise<number> {
    let last = -1;
    for (let i = 0; i < count; i += 20) {
      const batch: IngestEvent[] = [];
      for (let j = 0; j < 20 && i + j < count; j++) {
        const id = `e${Math.floor(this.next() * entities)}`;
        if (this.next() < 0.04 && this.state.has(id)) {
          batch.push({ scope: 'aircraft', op: 'delete', data: { id } });
          this.state.delete(id);
        } else {
          const data: EventData = { id, n: this.n++, ...this.position() };
          batch.push({ scope: 'aircraft', data });
          this.state.set(id, data);
        }
      }
      const published = await this.f.backplane.bus.publish(batch);
      last = published.at(-1)?.seq ?? last;
    }
    return last;
  }

  /** Publishes a marker inside the first box: once a client holds it, it has processed everything before. */
  async marker(): Promise<number> {
    const data = { id: 'marker', n: this.n++, lat: 3, lon: 3 };
    this.state.set('marker', data);
    return this.f.publish('aircraft', data);
  }

  /** The log's state filtered as a bbox client holds it. */
  filtered(): Map<string, EventData> {
    return new Map([...this.state].filter(([, data]) => inTiles(data)));
  }
}

const holdsMarker = (c: RecordingClient, n: unknown) => () => c.client.entities('aircraft').get('marker')?.n === n;

describe('region filters (bbox) against real gateways and Redis', () => {
  let f: StreamFixture;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let key: string;
  let world: World;

  beforeAll(async () => {
    f = await StreamFixture.start();
    [a, b] = await Promise.all([f.gateway(), f.gateway()]);
    key = (await f.key(['aircraft', 'alerts'])).key;
    world = new World(f);
    await world.publish(300);
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('gets a filtered snapshot, then keeps entities() equal to the log filtered by tile: entries, left_area, deletes', async () => {
    const c = new RecordingClient({ url: a.url, apiKey: key, bbox: BOXES, backoff: BACKOFF });
    const raw = await f.connectedClient(withKey(a.url, key, BBOX_QUERY));
    try {
      const snap = await c.until(() => c.snapshots.find((s) => s.scope === 'aircraft'), 15_000, 'the snapshot');
      // Nothing was published since: the snapshot is the filtered state, and holds some entities, not all.
      expect(stateOf(new Map(snap.items.map((i) => [String(i.id), i])))).toEqual(stateOf(world.filtered()));
      expect(snap.items.length).toBeGreaterThan(0);
      expect(snap.items.length).toBeLessThan(world.state.size);

      for (let round = 0; round < 6; round++) await world.publish(100);
      const alertSeq = await f.publish('alerts', { headline: 'log scopes are not filtered' });
      const marker = await world.marker();
      await c.until(holdsMarker(c, world.state.get('marker')?.n), 15_000, 'the marker');
      expect(stateOf(c.client.entities('aircraft'))).toEqual(stateOf(world.filtered()));

      const aircraft = c.events.filter((e) => e.type === 'aircraft');
      const reasons = new Set(aircraft.filter((e) => e.data.removed === true).map((e) => e.data.reason));
      expect(reasons.has('left_area')).toBe(true);
      expect(reasons.has('deleted')).toBe(true);
      // Every state delivered is in the client's tiles; far fewer events than the whole scope's.
      for (const e of aircraft.filter((e) => e.data.removed !== true)) expect(inTiles(e.data)).toBe(true);
      expect(aircraft.length).toBeLessThan(marker - snap.seq);
      await c.until(() => c.events.some((e) => e.type === 'alerts' && e.seq === alertSeq), 15_000, 'the alert');

      // A raw client on the same tiles sees the same frames: left_area carries the moving event's seq.
      await raw.waitFor((m) => m.type === 'aircraft' && (m.data as EventData).id === 'marker' && m.seq === marker);
      const leftArea = raw.messages.filter(
        (m) => m.type === 'aircraft' && (m.data as EventData).reason === 'left_area',
      );
      expect(leftArea.length).toBeGreaterThan(0);
      for (const m of leftArea) expect(Object.keys(m.data as object)).toEqual(['id', 'removed', 'reason']);
    } finally {
      c.client.close();
      raw.terminate();
    }
  });

  it('resumes on another replica with the same bbox: replayed filtered, no new snapshot, state equal', async () => {
    const c = new RecordingClient({ url: [a.url, b.url], apiKey: key, bbox: BOXES, backoff: BACKOFF });
    try {
      await c.until(() => c.snapshots.some((s) => s.scope === 'aircraft'), 15_000, 'the snapshot');
      await world.publish(200);
      const before = await world.marker();
      await c.until(holdsMarker(c, world.state.get('marker')?.n), 15_000, 'the first marker');
      a.kill('SIGKILL');
      // Published while the client is away: it gets them as a filtered replay from b.
      await world.publish(400);
      const marker = await world.marker();
      await c.until(holdsMarker(c, world.state.get('marker')?.n), 20_000, 'the marker after the resume');
      expect(c.snapshots.filter((s) => s.scope === 'aircraft')).toHaveLength(1);
      expect(c.resyncs).toEqual([]);
      expect(c.statuses.map((s) => `${s.state} ${s.url}`)).toContain(`open ${b.url}`);
      expect(stateOf(c.client.entities('aircraft'))).toEqual(stateOf(world.filtered()));
      const replayed = c.events.filter((e) => e.type === 'aircraft' && e.seq > before && e.seq <= marker);
      for (const e of replayed.filter((e) => e.data.removed !== true)) expect(inTiles(e.data)).toBe(true);
    } finally {
      c.client.close();
    }
  });

  it.each([
    ['bbox=1,2,3', 'bbox: expected minLon,minLat,maxLon,maxLat'],
    ['bbox=0,95,1,96', 'bbox: latitudes must be within -90..90'],
    ['bbox=200,0,201,1', 'bbox: longitudes must be within -180..180'],
    ['bbox=0,5,1,4', 'bbox: minLat must not exceed maxLat'],
    ['bbox=-180,-90,180,90', 'bbox: the boxes cover more than 1024 tiles'],
    ['bbox=', 'bbox: expected minLon,minLat,maxLon,maxLat'],
    ['bbox=0,0,1,1&conflate=5000', 'bbox: cannot be combined with conflate'],
  ])('refuses %s with an error naming the option, then 4002', async (query, message) => {
    const c = f.client(withKey(b.url, key, `&${query}`));
    const closed = await c.closed;
    expect(closed.code).toBe(4002);
    const error = c.messages.find((m) => m.type === 'error');
    expect((error?.data as { message: string }).message).toContain(message);
    expect(c.messages.some((m) => m.type === 'snapshot' || m.type === 'connected')).toBe(false);
  });

  it('ends an SDK client whose bbox is refused, with the reason, instead of retrying', async () => {
    const c = new RecordingClient({
      url: b.url,
      apiKey: key,
      bbox: [{ minLon: 0, minLat: 5, maxLon: 1, maxLat: 4 }],
      backoff: BACKOFF,
    });
    const closed = await c.until(() => c.statuses.find((s) => s.state === 'closed'), 15_000, 'the end');
    expect(closed.code).toBe(4002);
    expect(closed.reason).toMatch(/^bbox: minLat must not exceed maxLat/);
    expect(c.ofState('reconnecting')).toEqual([]);
  });

  it('refuses bbox when scopes= leaves the connection no entity scope', async () => {
    const c = f.client(withKey(b.url, key, '&scopes=alerts&bbox=0,0,1,1'));
    expect((await c.closed).code).toBe(4002);
    const error = c.messages.find((m) => m.type === 'error');
    expect((error?.data as { message: string }).message).toMatch(/^bbox: .*entity scopes/);
  });

  it('refuses bbox for a key without an entity scope (log scopes are never filtered)', async () => {
    const logOnly = (await f.key(['alerts'])).key;
    const c = f.client(withKey(b.url, logOnly, '&bbox=0,0,1,1'));
    expect((await c.closed).code).toBe(4002);
    const error = c.messages.find((m) => m.type === 'error');
    expect((error?.data as { message: string }).message).toMatch(/^bbox: .*entity scopes/);
  });
});
