/*
 * What the console asks of the entity scopes for the part of the world the
 * map shows: zoomed out, a conflation tier (every entity, each at most once
 * per TIER_MS); zoomed in, a region (`bbox`) around the visible area, with
 * every event. The gateway refuses the two together (4002), so a filter is
 * one or the other. Log scopes are never filtered.
 *
 * The region is the visible area padded by a quarter of its span on each
 * side and widened to the gateway's 2° tiles (packages/protocol/src/tiles.ts;
 * the constants below are copied, not imported, so the page's bundle holds no
 * protocol code: view-filter.test.ts checks them). A view that moves within
 * the region keeps it: small pans and zooms do not reconnect.
 */

/** Edge of the gateway's tiles in degrees. */
export const TILE_DEG = 2;
/** Tiles one connection's boxes may cover (the gateway refuses more with 4002). */
export const MAX_TILES_PER_CONNECTION = 1024;
/** The conflation tier of the world view (ms): the demo's aircraft report every 1.5 s. */
export const TIER_MS = 5000;
/** A visible area of at most this many tiles is "zoomed in" (padded, it stays within the connection's limit). */
export const REGION_MAX_VISIBLE_TILES = 400;
/** A region this many times larger than the view needs (zoomed in further) is narrowed. */
const NARROW_FACTOR = 4;
/**
 * A region's north and east edges are sent this far inside its last tile:
 * the gateway's boxes are closed, and an edge on a tile line would add the
 * next row or column of tiles.
 */
const EDGE_INSET_DEG = 0.01;

/** An area in degrees (west < east: the map does not wrap around the antimeridian). */
export interface Bounds {
  west: number;
  south: number;
  east: number;
  north: number;
}

export type ViewFilter = { mode: 'tier'; conflateMs: typeof TIER_MS } | { mode: 'region'; area: Bounds };

export const WORLD_TIER: ViewFilter = { mode: 'tier', conflateMs: TIER_MS };

/** The area widened to whole tiles (edges on multiples of TILE_DEG), within the world. */
function toTiles(b: Bounds): Bounds {
  // `+ 0`: no -0 in a query.
  const down = (v: number) => Math.floor(v / TILE_DEG) * TILE_DEG + 0;
  const up = (v: number) => Math.ceil(v / TILE_DEG) * TILE_DEG + 0;
  return {
    west: Math.max(-180, down(b.west)),
    south: Math.max(-90, down(b.south)),
    east: Math.min(180, Math.max(up(b.east), down(b.west) + TILE_DEG)),
    north: Math.min(90, Math.max(up(b.north), down(b.south) + TILE_DEG)),
  };
}

/** Tiles of an area whose edges are on tile lines. */
export function tileCount(area: Bounds): number {
  return ((area.east - area.west) / TILE_DEG) * ((area.north - area.south) / TILE_DEG);
}

/** The region for a view: padded by a quarter of its span each side when that fits the connection's limit. */
function regionFor(view: Bounds): Bounds {
  const padLon = (view.east - view.west) / 4;
  const padLat = (view.north - view.south) / 4;
  const padded = toTiles({
    west: view.west - padLon,
    south: view.south - padLat,
    east: view.east + padLon,
    north: view.north + padLat,
  });
  return tileCount(padded) <= MAX_TILES_PER_CONNECTION ? padded : toTiles(view);
}

const contains = (outer: Bounds, inner: Bounds): boolean =>
  inner.west >= outer.west && inner.east <= outer.east && inner.south >= outer.south && inner.north <= outer.north;

/**
 * The filter for what the map shows, given the one in use (`current`, kept
 * when it still serves the view, so equal filters mean no reconnect).
 */
export function filterFor(view: Bounds, current: ViewFilter | null): ViewFilter {
  if (tileCount(toTiles(view)) > REGION_MAX_VISIBLE_TILES) return current?.mode === 'tier' ? current : WORLD_TIER;
  const wanted = regionFor(view);
  if (
    current?.mode === 'region' &&
    contains(current.area, view) &&
    tileCount(current.area) <= NARROW_FACTOR * tileCount(wanted)
  ) {
    return current;
  }
  return { mode: 'region', area: wanted };
}

/** The `bbox` box of a region: its tiles exactly (see EDGE_INSET_DEG). */
export function bboxOf(area: Bounds): { minLon: number; minLat: number; maxLon: number; maxLat: number } {
  return {
    minLon: area.west,
    minLat: area.south,
    maxLon: area.east - EDGE_INSET_DEG,
    maxLat: area.north - EDGE_INSET_DEG,
  };
}

/** How the page names a filter: "5 s tier", "region 24°×16°". */
export function describeFilter(filter: ViewFilter): string {
  return filter.mode === 'tier'
    ? `${filter.conflateMs / 1000} s tier`
    : `region ${filter.area.east - filter.area.west}°×${filter.area.north - filter.area.south}°`;
}
