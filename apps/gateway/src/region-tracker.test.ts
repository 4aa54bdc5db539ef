import { parseRegion, type RegionFilter, TILE_COUNT, tileOf } from '@hydra/protocol';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics.js';
import { RegionCatchUp } from './region-catch-up.js';
import { RegionTracker } from './region-tracker.js';
import { Session } from './session.js';
import type { SnapshotFrame } from './snapshot-cache.js';

const frame = (seq: number, data: Record<string, unknown>): Buffer =>
  Buffer.from(`{"type":"aircraft","seq":${seq},"ts":${1000 + seq},"data":${JSON.stringify(data)}}`);

/** A uWS app that records each publish with its topic (followClients puts a client on every tile). */
function fakeApp() {
  const published: { topic: string; data: Record<string, unknown>; seq: number }[] = [];
  return {
    published,
    app: {
      publish: (topic: string, message: Buffer | string) => {
        const m = JSON.parse(message.toString()) as { seq: number; data: Record<string, unknown> };
        published.push({ topic, data: m.data, seq: m.seq });
        return true;
      },
    },
  };
}

const EVERY_TILE = Uint16Array.from({ length: TILE_COUNT }, (_, tile) => tile);

/** One live client on every tile, as RegionCatchUp.subscribe registers one. */
function followEveryTile(tracker: RegionTracker): void {
  tracker.tileClients.add({}, EVERY_TILE);
}

function snapshotOf(seq: number, items: Record<string, unknown>[]): SnapshotFrame {
  return { seq, seqTs: 0, frames: [], itemCount: items.length, items: items.map((i) => JSON.stringify(i)), readAt: 0 };
}

/** A tracker whose follower is at `seq` with an empty ring, seeded from `items`. */
async function seededTracker(seq: number, items: Record<string, unknown>[]) {
  const { app, published } = fakeApp();
  const follower = { seq, epoch: 0, ringCovers: (s: number) => s === seq, forEachAfter: () => undefined };
  const snap = snapshotOf(seq, items);
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const tracker = new RegionTracker('aircraft', {
    app: app as never,
    follower,
    snapshots: { get: async () => snap, read: async () => snap },
    metrics,
  });
  await tracker.ensureOn();
  followEveryTile(tracker);
  return { tracker, published, follower, metrics };
}

const NORTH_SEA = tileOf(55, 3);
const BISCAY = tileOf(45, -5);
const topic = (tile: number) => `aircraft/tile/${tile}`;

describe('RegionTracker', () => {
  it('publishes each update to its tile, and a left_area removal to the tile an entity left, before its new state', async () => {
    const { tracker, published } = await seededTracker(10, [{ id: 'a', lat: 55, lon: 3 }]);
    tracker.applied(11, frame(11, { id: 'a', lat: 55.1, lon: 3.1 }));
    tracker.applied(12, frame(12, { id: 'a', lat: 45, lon: -5 }));
    expect(published).toEqual([
      { topic: topic(NORTH_SEA), seq: 11, data: { id: 'a', lat: 55.1, lon: 3.1 } },
      { topic: topic(NORTH_SEA), seq: 12, data: { id: 'a', removed: true, reason: 'left_area' } },
      { topic: topic(BISCAY), seq: 12, data: { id: 'a', lat: 45, lon: -5 } },
    ]);
  });

  it('takes an entity that loses its position out of its tile, and one that gets it back in', async () => {
    const { tracker, published } = await seededTracker(10, [{ id: 'a', lat: 55, lon: 3 }]);
    tracker.applied(11, frame(11, { id: 'a', lat: 91, lon: 181 })); // AIS "not available"
    tracker.applied(12, frame(12, { id: 'a' }));
    tracker.applied(13, frame(13, { id: 'a', lat: 55, lon: 3 }));
    expect(published.map((p) => [p.topic, p.seq, p.data.reason ?? 'state'])).toEqual([
      [topic(NORTH_SEA), 11, 'left_area'],
      [topic(NORTH_SEA), 13, 'state'],
    ]);
  });

  it('publishes a removal to the tile the entity was in, and nothing for an entity it never placed', async () => {
    const { tracker, published } = await seededTracker(10, [{ id: 'a', lat: 55, lon: 3 }, { id: 'b' }]);
    tracker.applied(11, frame(11, { id: 'a', removed: true, reason: 'expired' }));
    tracker.applied(12, frame(12, { id: 'b', removed: true, reason: 'deleted' }));
    expect(published).toEqual([
      { topic: topic(NORTH_SEA), seq: 11, data: { id: 'a', removed: true, reason: 'expired' } },
    ]);
    expect(tracker.size).toBe(0);
  });

  it('publishes only to tiles with live clients, and builds no left_area for a tile without', async () => {
    const { app, published } = fakeApp();
    const snap = snapshotOf(10, [{ id: 'a', lat: 55, lon: 3 }]);
    const tracker = new RegionTracker('aircraft', {
      app: app as never,
      follower: { seq: 10, epoch: 0, ringCovers: () => true, forEachAfter: () => undefined },
      snapshots: { get: async () => snap, read: async () => snap },
      metrics: new GatewayMetrics(),
    });
    await tracker.ensureOn();
    const client = {};
    tracker.tileClients.add(client, Uint16Array.of(BISCAY));
    tracker.applied(11, frame(11, { id: 'a', lat: 55.1, lon: 3.1 })); // North Sea: nobody there
    tracker.applied(12, frame(12, { id: 'a', lat: 45, lon: -5 })); // to Biscay: no left_area for the North Sea
    tracker.applied(13, frame(13, { id: 'a', lat: 55, lon: 3 })); // back: left_area to Biscay
    tracker.tileClients.remove(client, Uint16Array.of(BISCAY));
    tracker.applied(14, frame(14, { id: 'a', lat: 45, lon: -5 })); // nobody anywhere
    expect(published.map((p) => [p.topic, p.seq, p.data.reason ?? 'state'])).toEqual([
      [topic(BISCAY), 12, 'state'],
      [topic(BISCAY), 13, 'left_area'],
    ]);
    expect(tracker.size).toBe(1); // the map follows every entity, followed or not
  });

  it('counts the deliveries of its publishes by the live clients of the tile', async () => {
    const { tracker, metrics } = await seededTracker(10, [{ id: 'a', lat: 55, lon: 3 }]);
    tracker.tileClients.add({}, Uint16Array.of(NORTH_SEA)); // a second client there
    const update = frame(11, { id: 'a', lat: 55.1, lon: 3.1 });
    tracker.applied(11, update);
    const text = await metrics.registry.metrics();
    expect(text).toContain('hydra_messages_delivered_total{scope="aircraft"} 2');
    expect(text).toContain(`hydra_bytes_delivered_total{scope="aircraft"} ${2 * update.length}`);
    expect(text).toContain('hydra_region_tile_publishes_total{scope="aircraft",kind="event"} 1');
  });

  it('is off until ensureOn, and off again after a reset: nothing is published then', async () => {
    const { tracker, published } = await seededTracker(10, []);
    tracker.reset();
    tracker.applied(11, frame(11, { id: 'a', lat: 55, lon: 3 }));
    expect(tracker.isOn).toBe(false);
    expect(published).toEqual([]);
  });

  it('waits for the follower to reach a snapshot that is ahead of it, then continues from there', async () => {
    const { app, published } = fakeApp();
    const follower = { seq: 10, epoch: 0, ringCovers: () => true, forEachAfter: () => undefined };
    const snap = snapshotOf(12, [{ id: 'a', lat: 45, lon: -5 }]);
    const tracker = new RegionTracker('aircraft', {
      app: app as never,
      follower,
      snapshots: { get: async () => snap, read: async () => snap },
      metrics: new GatewayMetrics(),
    });
    followEveryTile(tracker);
    const on = tracker.ensureOn();
    await new Promise((r) => setImmediate(r));
    tracker.applied(11, frame(11, { id: 'a', lat: 55, lon: 3 }));
    tracker.applied(12, frame(12, { id: 'a', lat: 45, lon: -5 }));
    await on;
    expect(tracker.isOn).toBe(true);
    expect(published).toEqual([]); // seqs up to the snapshot's are in it
    tracker.applied(13, frame(13, { id: 'a', lat: 55, lon: 3 }));
    expect(published.map((p) => [p.topic, p.data.reason ?? 'state'])).toEqual([
      [topic(BISCAY), 'left_area'],
      [topic(NORTH_SEA), 'state'],
    ]);
  });
});

describe('RegionCatchUp', () => {
  const region = (() => {
    const parsed = parseRegion(['2,54,4,56']);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.region;
  })() as RegionFilter;
  const session = () =>
    new Session({
      connId: 1,
      ip: '127.0.0.1',
      grant: { id: 'k', scopes: ['aircraft'], expiresAt: null },
      wantSnapshot: true,
      resume: new Map(),
      region,
      rejection: null,
      slotHeld: false,
      keyGeneration: 0,
    });

  it("gives a snapshot of the client's tiles, then filters events against what it holds", async () => {
    const { tracker } = await seededTracker(10, []);
    const catchUp = new RegionCatchUp(tracker, 64 * 1024);
    const s = session();
    const items = [{ id: 'in', lat: 55, lon: 3 }, { id: 'out', lat: 45, lon: -5 }, { id: 'nowhere' }];
    const parts = catchUp.snapshotFor(s, region, snapshotOf(10, items));
    const snapshot = JSON.parse(parts.map((p) => p.toString()).join('')) as { data: { items: unknown[] } };
    expect(snapshot.data.items).toEqual([{ id: 'in', lat: 55, lon: 3 }]);
    const sent = catchUp.filter(s, region, [
      frame(11, { id: 'out', lat: 46, lon: -5 }), // outside, not held: nothing
      frame(12, { id: 'in', lat: 46, lon: -5 }), // leaves: left_area
      frame(13, { id: 'out', lat: 55, lon: 3.5 }), // enters: its state
      frame(14, { id: 'in', removed: true, reason: 'deleted' }), // no longer held: nothing
      frame(15, { id: 'out', removed: true, reason: 'deleted' }), // held: the removal
    ]);
    expect(sent.map((f) => JSON.parse(f.toString()))).toEqual([
      { type: 'aircraft', seq: 12, ts: 1012, data: { id: 'in', removed: true, reason: 'left_area' } },
      { type: 'aircraft', seq: 13, ts: 1013, data: { id: 'out', lat: 55, lon: 3.5 } },
      { type: 'aircraft', seq: 15, ts: 1015, data: { id: 'out', removed: true, reason: 'deleted' } },
    ]);
  });

  it('keeps the tile map on while a bbox client is open, and turns it off when the last one closes', async () => {
    const { tracker } = await seededTracker(10, []);
    const catchUp = new RegionCatchUp(tracker, 64 * 1024);
    const [one, two] = [session(), session()];
    catchUp.attach(one);
    catchUp.attach(two);
    catchUp.forget(one);
    expect(tracker.isOn).toBe(true);
    catchUp.forget(two);
    expect(tracker.isOn).toBe(false);
  });

  it('after a resume (view unknown) tells left_area for the first sighting outside, then follows exactly', async () => {
    const { tracker } = await seededTracker(10, []);
    const catchUp = new RegionCatchUp(tracker, 64 * 1024);
    const s = session();
    catchUp.startResume(s);
    const sent = catchUp.filter(s, region, [
      frame(11, { id: 'x', lat: 45, lon: -5 }),
      frame(12, { id: 'x', lat: 46, lon: -5 }),
    ]);
    expect(sent.map((f) => (JSON.parse(f.toString()) as { seq: number }).seq)).toEqual([11]);
  });
});
