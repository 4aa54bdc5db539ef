/*
 * The fixed geographic grid behind the `bbox` option (region filters for
 * entity scopes): 2° × 2° cells in WGS84 degrees, 180 columns from the
 * antimeridian eastwards and 90 rows from the south pole northwards, 16,200
 * tiles in all. A tile's number is `row * TILE_COLUMNS + column`.
 *
 * Tile (row r, column c) holds the points with
 *   -90 + 2r <= lat < -90 + 2(r+1)   (the last row also holds lat = 90)
 *   -180 + 2c <= lon < -180 + 2(c+1) (lon = 180 is lon = -180: column 0)
 * so every valid point is in exactly one tile (tileOf).
 *
 * A box is `minLon,minLat,maxLon,maxLat` (closed); minLon > maxLon crosses
 * the antimeridian (it covers [minLon, 180] and [-180, maxLon]). Its cover
 * (coverBoxes) is the set of tiles holding at least one of its points: every
 * point in the box is in a covered tile, and every covered tile touches the
 * box. Clients receive the entities of their tiles, which may lie up to one
 * tile (2°) outside their boxes: tile granularity, not exact trimming
 * (docs/protocol.md says why).
 */

/** Edge of a tile in degrees. */
export const TILE_DEG = 2;
export const TILE_COLUMNS = 360 / TILE_DEG;
export const TILE_ROWS = 180 / TILE_DEG;
export const TILE_COUNT = TILE_COLUMNS * TILE_ROWS;
/** Boxes one connection may ask for. */
export const MAX_BOXES = 16;
/**
 * Tiles the boxes of one connection may cover together (a 64° × 64° area at
 * the equator): each is one uWS subscription per client (about 100 bytes of
 * gateway memory each), taken at connect.
 */
export const MAX_TILES_PER_CONNECTION = 1024;

/** A box in degrees, as the client wrote it (minLon > maxLon: it crosses the antimeridian). */
export interface GeoBox {
  readonly minLon: number;
  readonly minLat: number;
  readonly maxLon: number;
  readonly maxLat: number;
}

function isLat(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= -90 && value <= 90;
}

function isLon(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= -180 && value <= 180;
}

/**
 * floor((value - origin) / TILE_DEG), corrected where floating point rounds
 * (a value just below a tile edge, like -5e-324, is not taken for the edge):
 * the tile's edges, integers, compare exactly with `value`.
 */
function cellOf(value: number, origin: number): number {
  const cell = Math.floor((value - origin) / TILE_DEG);
  return value < origin + cell * TILE_DEG ? cell - 1 : cell;
}

function rowOf(lat: number): number {
  return Math.min(TILE_ROWS - 1, cellOf(lat, -90));
}

/** The column of `lon` unwrapped: lon = 180 gives TILE_COLUMNS, which is column 0. */
function unwrappedColumnOf(lon: number): number {
  return cellOf(lon, -180);
}

function columnOf(lon: number): number {
  return unwrappedColumnOf(lon) % TILE_COLUMNS;
}

/**
 * The tile holding the point, or -1 when `lat`/`lon` are not both numbers
 * within range (absent, a string, NaN, AIS's 91/181 "not available").
 */
export function tileOf(lat: unknown, lon: unknown): number {
  if (!isLat(lat) || !isLon(lon)) return -1;
  return rowOf(lat) * TILE_COLUMNS + columnOf(lon);
}

/** The bounds of a tile in degrees: [south, north) × [west, east) (see the grid's rules above). */
export function tileBounds(tile: number): GeoBox {
  const row = Math.floor(tile / TILE_COLUMNS);
  const column = tile % TILE_COLUMNS;
  const minLat = -90 + row * TILE_DEG;
  const minLon = -180 + column * TILE_DEG;
  return { minLon, minLat, maxLon: minLon + TILE_DEG, maxLat: minLat + TILE_DEG };
}

/** Whether the (closed) box holds the point; minLon > maxLon crosses the antimeridian. */
export function boxContains(box: GeoBox, lat: number, lon: number): boolean {
  if (lat < box.minLat || lat > box.maxLat) return false;
  if (box.minLon <= box.maxLon) return lon >= box.minLon && lon <= box.maxLon;
  return lon >= box.minLon || lon <= box.maxLon;
}

/** The tiles holding at least one point of the boxes, ascending, each once. */
export function coverBoxes(boxes: readonly GeoBox[]): number[] {
  const tiles = new Set<number>();
  for (const box of boxes) {
    const lonSpans: [number, number][] =
      box.minLon <= box.maxLon
        ? [[box.minLon, box.maxLon]]
        : [
            [box.minLon, 180],
            [-180, box.maxLon],
          ];
    for (let row = rowOf(box.minLat); row <= rowOf(box.maxLat); row++) {
      for (const [west, east] of lonSpans) {
        // Unwrapped column numbers: 180 (lon = 180) is column 0 again.
        const last = unwrappedColumnOf(east);
        for (let c = unwrappedColumnOf(west); c <= last; c++) tiles.add(row * TILE_COLUMNS + (c % TILE_COLUMNS));
      }
    }
  }
  return [...tiles].sort((a, b) => a - b);
}

/** Counts the tiles coverBoxes would return, without listing them past `limit` (a huge box stays cheap). */
function coverExceeds(boxes: readonly GeoBox[], limit: number): boolean {
  let upperBound = 0;
  for (const box of boxes) {
    const rows = rowOf(box.maxLat) - rowOf(box.minLat) + 1;
    const spanDeg = box.minLon <= box.maxLon ? box.maxLon - box.minLon : 360 - (box.minLon - box.maxLon);
    upperBound += rows * Math.min(TILE_COLUMNS, Math.ceil(spanDeg / TILE_DEG) + 2);
  }
  return upperBound > limit && coverBoxes(boxes).length > limit;
}

/** The boxes of a connection and the tiles they cover. */
export interface RegionFilter {
  readonly boxes: readonly GeoBox[];
  /** coverBoxes(boxes), ascending. */
  readonly tiles: Uint16Array;
}

export type RegionParse = { ok: true; region: RegionFilter } | { ok: false; reason: string };

const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** A value quoted in an error message, cut short (the query may be long). */
function quote(text: string): string {
  return JSON.stringify(text.length > 48 ? `${text.slice(0, 48)}…` : text);
}

/**
 * Reads the values of the `bbox` query parameter (one per box, each
 * `minLon,minLat,maxLon,maxLat` in decimal degrees). Every error names the
 * option and says what is wrong; it never throws.
 */
export function parseRegion(values: readonly string[]): RegionParse {
  if (values.length > MAX_BOXES) return { ok: false, reason: `bbox: at most ${MAX_BOXES} boxes, got ${values.length}` };
  const boxes: GeoBox[] = [];
  for (const value of values) {
    const parts = value.split(',').map((p) => p.trim());
    if (parts.length !== 4 || !parts.every((p) => NUMBER.test(p))) {
      return { ok: false, reason: `bbox: expected minLon,minLat,maxLon,maxLat in degrees, got ${quote(value)}` };
    }
    const [minLon, minLat, maxLon, maxLat] = parts.map(Number) as [number, number, number, number];
    if (!isLon(minLon) || !isLon(maxLon)) {
      return { ok: false, reason: `bbox: longitudes must be within -180..180, got ${quote(value)}` };
    }
    if (!isLat(minLat) || !isLat(maxLat)) {
      return { ok: false, reason: `bbox: latitudes must be within -90..90, got ${quote(value)}` };
    }
    if (minLat > maxLat) return { ok: false, reason: `bbox: minLat must not exceed maxLat, got ${quote(value)}` };
    boxes.push({ minLon, minLat, maxLon, maxLat });
  }
  if (boxes.length === 0) return { ok: false, reason: 'bbox: no box given' };
  if (coverExceeds(boxes, MAX_TILES_PER_CONNECTION)) {
    return {
      ok: false,
      reason: `bbox: the boxes cover more than ${MAX_TILES_PER_CONNECTION} tiles of ${TILE_DEG}°; ask for a smaller area`,
    };
  }
  return { ok: true, region: { boxes, tiles: Uint16Array.from(coverBoxes(boxes)) } };
}

/** Whether `tile` is one of `tiles` (ascending): a binary search. */
export function hasTile(tiles: Uint16Array, tile: number): boolean {
  let lo = 0;
  let hi = tiles.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const t = tiles[mid] as number;
    if (t === tile) return true;
    if (t < tile) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The `bbox` query value of a box (the SDK and `hydra tail` build it). */
export function formatBox(box: GeoBox): string {
  return `${box.minLon},${box.minLat},${box.maxLon},${box.maxLat}`;
}
