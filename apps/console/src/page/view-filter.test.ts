import {
  CONFLATION_TIERS_MS,
  coverBoxes,
  MAX_TILES_PER_CONNECTION as PROTOCOL_MAX_TILES,
  TILE_DEG as PROTOCOL_TILE_DEG,
} from '@hydra/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Bounds,
  bboxOf,
  describeFilter,
  filterFor,
  MAX_TILES_PER_CONNECTION,
  TIER_MS,
  TILE_DEG,
  tileCount,
  type ViewFilter,
  WORLD_TIER,
} from './view-filter.js';

const WORLD: Bounds = { west: -180, south: -90, east: 180, north: 90 };
/** About what a 900 × 450 px map shows at zoom 8 over western Europe. */
const EUROPE: Bounds = { west: -5, south: 43, east: 17.5, north: 54.25 };

const regionOf = (filter: ViewFilter): Bounds => {
  if (filter.mode !== 'region') throw new Error(`expected a region, got ${describeFilter(filter)}`);
  return filter.area;
};

describe('the view filter', () => {
  it("copies the gateway's tile size, tile limit and a valid tier (not imported, to keep protocol code out of the page)", () => {
    expect(TILE_DEG).toBe(PROTOCOL_TILE_DEG);
    expect(MAX_TILES_PER_CONNECTION).toBe(PROTOCOL_MAX_TILES);
    expect(CONFLATION_TIERS_MS).toContain(TIER_MS);
  });

  it('asks the tier for the world, and a padded region on tile lines for a zoomed-in view', () => {
    expect(filterFor(WORLD, null)).toEqual(WORLD_TIER);
    const area = regionOf(filterFor(EUROPE, WORLD_TIER));
    expect(area).toEqual({ west: -12, south: 40, east: 24, north: 58 });
    expect(describeFilter({ mode: 'region', area })).toBe('region 36°×18°');
    expect(describeFilter(WORLD_TIER)).toBe('5 s tier');
    // The box sent covers exactly the region's tiles on the gateway's grid.
    expect(coverBoxes([bboxOf(area)])).toHaveLength(tileCount(area));
  });

  it('keeps the region while the view stays inside it; a pan out of it or a deep zoom asks a new one', () => {
    const current = filterFor(EUROPE, WORLD_TIER);
    const panned = { ...EUROPE, west: EUROPE.west - 5, east: EUROPE.east - 5 };
    expect(filterFor(panned, current)).toBe(current);
    const far = { west: 20, south: 30, east: 42.5, north: 41.25 };
    expect(regionOf(filterFor(far, current))).not.toEqual(regionOf(current));
    const deep = { west: 4, south: 50, east: 5, north: 50.5 };
    const narrowed = regionOf(filterFor(deep, current));
    expect(tileCount(narrowed)).toBeLessThan(tileCount(regionOf(current)) / 4);
    expect(filterFor(WORLD, current)).toEqual(WORLD_TIER);
  });

  it('for any view: a region contains it, lies on tile lines within the world and the connection limit', () => {
    const view = fc
      .record({
        lon: fc.double({ min: -180, max: 179, noNaN: true }),
        lat: fc.double({ min: -90, max: 89, noNaN: true }),
        width: fc.double({ min: 0.01, max: 360, noNaN: true }),
        height: fc.double({ min: 0.01, max: 180, noNaN: true }),
      })
      .map(({ lon, lat, width, height }) => ({
        west: lon,
        south: lat,
        east: Math.min(180, lon + width),
        north: Math.min(90, lat + height),
      }));
    fc.assert(
      fc.property(view, (v) => {
        const filter = filterFor(v, null);
        if (filter.mode === 'tier') return;
        const { area } = filter;
        expect(area.west <= v.west && area.east >= v.east && area.south <= v.south && area.north >= v.north).toBe(true);
        expect(area.west >= -180 && area.east <= 180 && area.south >= -90 && area.north <= 90).toBe(true);
        for (const edge of [area.west, area.east, area.south, area.north]) expect(Math.abs(edge % TILE_DEG)).toBe(0);
        expect(coverBoxes([bboxOf(area)])).toHaveLength(tileCount(area));
        expect(tileCount(area)).toBeLessThanOrEqual(MAX_TILES_PER_CONNECTION);
      }),
    );
  });
});
