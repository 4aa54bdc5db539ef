import type { GeoBox } from '@hydra/protocol';

/*
 * The gateway's tile grid for `bbox` (packages/protocol/src/tiles.ts: 2°
 * cells, 180 columns from -180° eastwards, 90 rows from -90° northwards; lon
 * 180 is column 0, lat 90 the top row), as far as the client needs it to
 * know which entities a region-filtered connection holds: copied, not
 * imported, so the browser bundle holds no protocol code
 * (tile-cover.test.ts checks that both agree).
 */

const DEG = 2;
const COLUMNS = 180;
const ROWS = 90;

/** floor((value - origin) / DEG), corrected where floating point rounds (as the gateway's cellOf). */
function cell(value: number, origin: number): number {
  const c = Math.floor((value - origin) / DEG);
  return value < origin + c * DEG ? c - 1 : c;
}

const row = (lat: number): number => Math.min(ROWS - 1, cell(lat, -90));

const valid = (value: unknown, bound: number): value is number =>
  typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= bound;

/** The tile of a position, or -1 without a valid one (a bbox connection never holds such an entity). */
export function tileOf(lat: unknown, lon: unknown): number {
  if (!valid(lat, 90) || !valid(lon, 180)) return -1;
  return row(lat) * COLUMNS + (cell(lon, -180) % COLUMNS);
}

/** The tiles holding at least one point of the boxes: those a `bbox` connection is sent. */
export function coverTiles(boxes: readonly GeoBox[]): Set<number> {
  const tiles = new Set<number>();
  for (const box of boxes) {
    const spans: [number, number][] =
      box.minLon <= box.maxLon
        ? [[box.minLon, box.maxLon]]
        : [
            [box.minLon, 180],
            [-180, box.maxLon],
          ];
    for (let r = row(box.minLat); r <= row(box.maxLat); r++) {
      for (const [west, east] of spans) {
        const last = cell(east, -180);
        for (let c = cell(west, -180); c <= last; c++) tiles.add(r * COLUMNS + (c % COLUMNS));
      }
    }
  }
  return tiles;
}
