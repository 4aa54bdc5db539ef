import { parseRegion, type RegionFilter } from '@hydra/protocol';
import { describe, expect, it } from 'vitest';
import { ConflationTier } from './conflation-tier.js';
import { ConflationTierRoute } from './conflation-tier-route.js';
import type { LiveRoute } from './live-route.js';
import { GatewayMetrics } from './metrics.js';
import { RegionCatchUp } from './region-catch-up.js';
import { RegionTilesRoute } from './region-tiles-route.js';
import { RegionTracker } from './region-tracker.js';
import { ScopeTopicRoute } from './scope-topic-route.js';
import { Session, type SocketData } from './session.js';
import type { SnapshotFrame } from './snapshot-cache.js';
import type { WebSocket } from './uws.js';

const frame = (seq: number, data: Record<string, unknown>): Buffer =>
  Buffer.from(`{"type":"aircraft","seq":${seq},"ts":${1000 + seq},"data":${JSON.stringify(data)}}`);
const seqs = (frames: readonly Buffer[]) => frames.map((f) => (JSON.parse(f.toString()) as { seq: number }).seq);
const event = (seq: number, id: string) => ({ seq, frame: frame(seq, { id }) });

/** A session of `aircraft` with a socket that records its topics (and `bbox` when `region` is given). */
function client(region: RegionFilter | null = null): { session: Session; ws: WebSocket<SocketData> } {
  const session = new Session({
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
  const topics = new Set<string>();
  const ws = {
    subscribe: (t: string) => topics.add(t),
    unsubscribe: (t: string) => topics.delete(t),
    isSubscribed: (t: string) => topics.has(t),
  } as unknown as WebSocket<SocketData>;
  session.ws = ws;
  return { session, ws };
}

describe('ScopeTopicRoute', () => {
  it('sends every event of a replay batch by batch and of the ring, and follows the scope topic', () => {
    const route: LiveRoute = new ScopeTopicRoute('aircraft');
    const { session, ws } = client();
    const replay = route.startReplay(session);
    expect(replay.sendsEachBatch).toBe(true);
    expect(seqs(replay.batch([event(1, 'a'), event(2, 'a')], false))).toEqual([1, 2]);
    expect(replay.rest()).toEqual([]);
    expect(seqs(route.tailFor(session, [frame(3, { id: 'a' }), frame(4, { id: 'a' })]))).toEqual([3, 4]);
    expect(route.subscribe(session, ws, 4)).toBe(true);
    expect(route.isLive(session, ws)).toBe(true);
    route.unsubscribe(session, ws);
    expect(route.isLive(session, ws)).toBe(false);
  });
});

describe('ConflationTierRoute', () => {
  const tierAt = (seq: number) =>
    new ConflationTier('aircraft', 5000, {
      app: { publish: () => true, numSubscribers: () => 0 },
      pacer: { fits: () => true, send: () => true, sentOutside: () => undefined },
      seq: () => seq,
      epoch: () => 0,
      sliceBytes: 1 << 20,
      published: () => undefined,
      continueFrom: () => undefined,
    });

  it("holds a replay's batches back and sends, with the last, each entity's latest event across all of them", () => {
    const route = new ConflationTierRoute(tierAt(0));
    const replay = route.startReplay();
    expect(replay.sendsEachBatch).toBe(false);
    expect(replay.batch([event(1, 'a'), event(2, 'b')], false)).toEqual([]);
    expect(seqs(replay.batch([event(3, 'a')], true))).toEqual([2, 3]);
    replay.batch([event(4, 'b'), event(5, 'b')], false);
    expect(seqs(replay.rest())).toEqual([5]);
  });

  it("conflates the ring's tail, and goes live on the tier's topic only at the follower's newest seq", () => {
    const tier = tierAt(7);
    const route = new ConflationTierRoute(tier);
    const { session, ws } = client();
    expect(route.liveAtNewestOnly).toBe(true);
    expect(seqs(route.tailFor(session, [frame(6, { id: 'a' }), frame(7, { id: 'a' })]))).toEqual([7]);
    expect(route.subscribe(session, ws, 7)).toBe(true);
    expect(ws.isSubscribed(tier.topic)).toBe(true);
    expect(route.isLive(session, ws)).toBe(true);
    route.unsubscribe(session, ws);
    expect(route.isLive(session, ws)).toBe(false);
    tier.stop();
  });
});

describe('RegionTilesRoute', () => {
  const region = (() => {
    const parsed = parseRegion(['2,54,4,56']);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.region;
  })() as RegionFilter;
  const snap: SnapshotFrame = { seq: 10, seqTs: 0, frames: [], itemCount: 0, items: [], readAt: 0 };

  function tilesRoute() {
    const tracker = new RegionTracker('aircraft', {
      app: { publish: () => true, numSubscribers: () => 0 },
      follower: { seq: 10, epoch: 0, ringCovers: (s: number) => s === 10, forEachAfter: () => undefined },
      snapshots: { get: async () => snap, read: async () => snap },
      metrics: new GatewayMetrics(),
    });
    return { tracker, route: new RegionTilesRoute(new RegionCatchUp(tracker, 64 * 1024)) };
  }

  it('refuses to take a client live while the tile map is off (the caller resynchronises it)', () => {
    const { route } = tilesRoute();
    const { session, ws } = client(region);
    expect(route.subscribe(session, ws, null)).toBe(false);
    expect(route.isLive(session, ws)).toBe(false);
  });

  it("turns the tile map on when opened, filters the ring's tail to the client's tiles, then follows its tiles", async () => {
    const { tracker, route } = tilesRoute();
    const { session, ws } = client(region);
    await route.open(session);
    expect(tracker.isOn).toBe(true);
    route.snapshotFor(session, snap);
    const tail = [frame(11, { id: 'in', lat: 55, lon: 3 }), frame(12, { id: 'out', lat: 45, lon: -5 })];
    expect(seqs(route.tailFor(session, tail))).toEqual([11]);
    expect(route.subscribe(session, ws, 12)).toBe(true);
    expect(route.isLive(session, ws)).toBe(true);
    route.unsubscribe(session, ws);
    expect(route.isLive(session, ws)).toBe(false);
    route.forget(session);
    expect(tracker.isOn).toBe(false); // its last bbox client is gone
  });
});
