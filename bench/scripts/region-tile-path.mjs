/**
 * `node bench/scripts/region-tile-path.mjs <apps/gateway dir> [rounds] [stub-publish]`
 *
 * The region tile path alone (bench/README.md, "Region filters"): µs per
 * event of RegionTracker.applied (the byte scan, the tile map, the uWS
 * publish, the counters) on the regions bench's aircraft frames, with a real
 * uWS app and 300 real WebSocket clients on the bench's 8 boxes (about 20
 * per tile). Events go in batches of 10 per event-loop turn, as from Redis;
 * uWS drains between batches (untimed). The median batch is one the
 * scheduler did not preempt, so it holds on a shared machine.
 * `stub-publish` replaces uWS's publish with a no-op: what is ours.
 * Point it at another checkout's apps/gateway (built) for a before/after.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Bench-like aircraft event frames (what regions-world.ts publishes), `count` of them over N aircraft. */
function makeFrames(encodeEventFrame, count = 200000, N = 10000) {
  const lat = new Float64Array(N),
    lon = new Float64Array(N),
    dLat = new Float64Array(N),
    dLon = new Float64Array(N);
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = 0; i < N; i++) {
    lat[i] = 30 + rnd() * 40;
    lon[i] = -20 + rnd() * 60;
    const h = rnd() * 2 * Math.PI;
    dLat[i] = ((Math.cos(h) * 0.125) / 60) * 50;
    dLon[i] = ((Math.sin(h) * 0.125) / 60) * 50;
  }
  const frames = [];
  for (let seq = 1; seq <= count; seq++) {
    const i = seq % N;
    lat[i] += dLat[i];
    lon[i] += dLon[i];
    if (lat[i] >= 70) lat[i] -= 40;
    if (lat[i] < 30) lat[i] += 40;
    if (lon[i] >= 40) lon[i] -= 60;
    if (lon[i] < -20) lon[i] += 60;
    const data = {
      id: `ac${i.toString(16).padStart(6, '0')}`,
      callsign: `BNC${i}`,
      lat: Math.round(lat[i] * 1e5) / 1e5,
      lon: Math.round(lon[i] * 1e5) / 1e5,
      altBaroFt: 35000,
      groundSpeedKt: 450,
      trackDeg: 123,
      zzs: 0,
      zzn: seq,
      zzt: 123456789012 + seq,
    };
    frames.push(Buffer.from(encodeEventFrame('aircraft', 1000 + seq, 1765000000000 + seq, JSON.stringify(data))));
  }
  return frames;
}

const gatewayDir = resolve(process.argv[2] ?? 'apps/gateway');
const rounds = Number(process.argv[3] ?? 5);
const require = createRequire(`${gatewayDir}/package.json`);
const uws = require('uWebSockets.js');
const WebSocket = require('ws');
const { RegionTracker } = await import(pathToFileURL(`${gatewayDir}/dist/region-tracker.js`));
const { GatewayMetrics } = await import(pathToFileURL(`${gatewayDir}/dist/metrics.js`));
const { encodeEventFrame, coverBoxes } = await import(pathToFileURL(require.resolve('@hydra/protocol')));
const frames = makeFrames(encodeEventFrame, 100000);
const BOXES = Array.from({ length: 8 }, (_, i) => {
  const minLon = -20 + 1.3 + (i % 4) * 14;
  const minLat = 30 + 3.7 + Math.floor(i / 4) * 16;
  return { minLon, minLat, maxLon: minLon + 12, maxLat: minLat + 10 };
});
const metrics = new GatewayMetrics({ defaultMetrics: false });
const app = uws.App();
const follower = { seq: 0, epoch: 0, ringCovers: () => true, forEachAfter: () => undefined };
const snap = { seq: 0, seqTs: 0, frames: [], itemCount: 0, items: [], readAt: 0 };
const stubPublish = process.argv[4] === 'stub-publish';
const trackerApp = stubPublish ? { publish: () => true, numSubscribers: (t) => app.numSubscribers(t) } : app;
const tracker = new RegionTracker('aircraft', {
  app: trackerApp,
  follower,
  snapshots: { get: async () => snap, read: async () => snap },
  metrics,
  afterFanOut: () => {},
});
let opened = 0;
app.ws('/*', {
  open: (ws) => {
    const tiles = Uint16Array.from(coverBoxes([BOXES[opened++ % 8]]));
    for (const t of tiles) ws.subscribe(tracker.topic(t));
    tracker.tileClients?.add({}, tiles); // this build keeps its own counts (the before build asks uWS)
  },
});
app.listen('127.0.0.1', 0, async (ls) => {
  const port = uws.us_socket_local_port(ls);
  for (let k = 0; k < 300; k++)
    await new Promise((res) => {
      const s = new WebSocket(`ws://127.0.0.1:${port}/`);
      s.on('open', res);
    });
  await tracker.ensureOn();
  // Per batch of 10 events: the median batch is one the scheduler did not preempt (the machine is shared).
  const batches = [];
  for (let r = 0; r < rounds; r++) {
    for (let at = 0; at < frames.length; at += 10) {
      const t0 = process.hrtime.bigint();
      for (let k = at; k < at + 10; k++) tracker.applied(r * frames.length + k + 1, frames[k]);
      batches.push(Number(process.hrtime.bigint() - t0) / 10 / 1000);
      await new Promise((res) => setImmediate(res));
    }
  }
  batches.sort((a, b) => a - b);
  const q = (p) => batches[Math.floor(p * (batches.length - 1))].toFixed(2);
  console.log(
    `${gatewayDir}${stubPublish ? ' (uWS publish stubbed)' : ''}: tracker.applied µs/event over ${batches.length} batches of 10: p25 ${q(0.25)}, median ${q(0.5)}, p75 ${q(0.75)}, mean ${(batches.reduce((a, b) => a + b, 0) / batches.length).toFixed(2)}`,
  );
  process.exit(0);
});
