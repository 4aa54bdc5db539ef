/**
 * The world of the regions bench (regions.ts): N aircraft drifting over one
 * area, the clients' boxes over it, and the publisher that moves them.
 */
import { createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import { coverBoxes, type GeoBox, type IngestEvent, TILE_DEG } from '@hydra/protocol';
import { sleep } from './procs.js';
import { FIELD_COUNTER, FIELD_SCOPE, FIELD_TIME } from './protocol.js';
import { SCOPE_NAMES } from './scenarios.js';

/** The aircraft fly over this area, uniformly spread (60° × 40°: Europe and the North Atlantic's east). */
export const AREA = { minLon: -20, minLat: 30, maxLon: 40, maxLat: 70 } as const;
/** The clients' boxes: 12° × 10° each (5% of AREA), edges off the 2° grid. */
export const BOXES: readonly GeoBox[] = Array.from({ length: 8 }, (_, i) => {
  const minLon = AREA.minLon + 1.3 + (i % 4) * 14;
  const minLat = AREA.minLat + 3.7 + Math.floor(i / 4) * 16;
  return { minLon, minLat, maxLon: minLon + 12, maxLat: minLat + 10 };
});
export const AIRCRAFT_SCOPE = SCOPE_NAMES.indexOf('aircraft');
/** The publisher sends what is due every TICK_MS, as one pipelined batch. */
const TICK_MS = 50;

/** The share of AREA (so of the aircraft) in the tiles covering `box`: what a client of that box receives. */
export function coveredShare(box: GeoBox): number {
  let area = 0;
  for (const tile of coverBoxes([box])) {
    const column = tile % (360 / TILE_DEG);
    const row = Math.floor(tile / (360 / TILE_DEG));
    const west = Math.max(AREA.minLon, -180 + column * TILE_DEG);
    const east = Math.min(AREA.maxLon, -180 + (column + 1) * TILE_DEG);
    const south = Math.max(AREA.minLat, -90 + row * TILE_DEG);
    const north = Math.min(AREA.maxLat, -90 + (row + 1) * TILE_DEG);
    if (east > west && north > south) area += (east - west) * (north - south);
  }
  return area / ((AREA.maxLon - AREA.minLon) * (AREA.maxLat - AREA.minLat));
}

/** N aircraft drifting across AREA (wrapping at its edges), published at `hz` each through the backplane. */
export class AircraftPublisher {
  private readonly lat: Float64Array;
  private readonly lon: Float64Array;
  private readonly dLat: Float64Array;
  private readonly dLon: Float64Array;
  private next = 0;
  private counter = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  sent = 0;

  constructor(
    private readonly redisUrl: string,
    private readonly o: { aircraft: number; hz: number },
  ) {
    const n = o.aircraft;
    this.lat = new Float64Array(n);
    this.lon = new Float64Array(n);
    this.dLat = new Float64Array(n);
    this.dLon = new Float64Array(n);
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < n; i++) {
      this.lat[i] = AREA.minLat + rnd() * (AREA.maxLat - AREA.minLat);
      this.lon[i] = AREA.minLon + rnd() * (AREA.maxLon - AREA.minLon);
      const heading = rnd() * 2 * Math.PI;
      // About 450 kt: 0.125° of latitude a minute.
      this.dLat[i] = (Math.cos(heading) * 0.125) / 60;
      this.dLon[i] = (Math.sin(heading) * 0.125) / 60;
    }
  }

  private event(i: number): IngestEvent {
    const wrap = (v: number, lo: number, hi: number) => (v < lo ? v + (hi - lo) : v >= hi ? v - (hi - lo) : v);
    const steps = 1 / this.o.hz;
    this.lat[i] = wrap((this.lat[i] as number) + (this.dLat[i] as number) * steps, AREA.minLat, AREA.maxLat);
    this.lon[i] = wrap((this.lon[i] as number) + (this.dLon[i] as number) * steps, AREA.minLon, AREA.maxLon);
    const t = Number(process.hrtime.bigint() / 1000n);
    return {
      scope: 'aircraft',
      data: {
        id: `ac${i.toString(16).padStart(6, '0')}`,
        callsign: `BNC${i % 10_000}`,
        lat: Math.round((this.lat[i] as number) * 1e5) / 1e5,
        lon: Math.round((this.lon[i] as number) * 1e5) / 1e5,
        altBaroFt: 35_000,
        groundSpeedKt: 450,
        trackDeg: Math.round((Math.atan2(this.dLon[i] as number, this.dLat[i] as number) * 180) / Math.PI + 360) % 360,
        [FIELD_SCOPE]: AIRCRAFT_SCOPE,
        [FIELD_COUNTER]: ++this.counter,
        [FIELD_TIME]: t,
      },
    };
  }

  /** Publishes one update of every aircraft (the state the clients' gateway starts from). */
  async seed(): Promise<void> {
    const bp = createBackplane({ kind: 'redis', url: this.redisUrl, retention: DEFAULT_RETENTION });
    try {
      for (let i = 0; i < this.o.aircraft; i += 500) {
        const batch: IngestEvent[] = [];
        for (let j = i; j < Math.min(this.o.aircraft, i + 500); j++) batch.push(this.event(j));
        await bp.bus.publish(batch);
      }
    } finally {
      await bp.close();
    }
  }

  start(): void {
    this.running = true;
    const bp = createBackplane({ kind: 'redis', url: this.redisUrl, retention: DEFAULT_RETENTION });
    const perSec = this.o.aircraft * this.o.hz;
    this.loop = (async () => {
      const t0 = performance.now();
      let due = 0;
      try {
        while (this.running) {
          const target = Math.floor(((performance.now() - t0) / 1000) * perSec);
          // At most one second's worth per batch: a publisher that falls behind reports a lower rate.
          const count = Math.min(target - due, Math.ceil(perSec));
          if (count > 0) {
            const batch: IngestEvent[] = [];
            for (let k = 0; k < count; k++) {
              batch.push(this.event(this.next));
              this.next = (this.next + 1) % this.o.aircraft;
            }
            await bp.bus.publish(batch);
            this.sent += count;
            due += count;
          }
          await sleep(TICK_MS);
        }
      } finally {
        await bp.close();
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
