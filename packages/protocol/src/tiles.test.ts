import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  boxContains,
  coverBoxes,
  type GeoBox,
  hasTile,
  MAX_TILES_PER_CONNECTION,
  parseRegion,
  TILE_COLUMNS,
  TILE_COUNT,
  TILE_ROWS,
  tileBounds,
  tileOf,
} from './tiles.js';

const lat = fc.double({ min: -90, max: 90, noNaN: true });
const lon = fc.double({ min: -180, max: 180, noNaN: true });
/** Any box: minLon > maxLon (crossing the antimeridian) as often as not; latitudes up to the poles. */
const box: fc.Arbitrary<GeoBox> = fc
  .tuple(lon, lat, lon, lat)
  .map(([minLon, a, maxLon, b]) => ({ minLon, minLat: Math.min(a, b), maxLon, maxLat: Math.max(a, b) }));
/** Boxes on the edges that matter: the poles, the antimeridian, tile borders. */
const edgeValue = (values: number[]) => fc.constantFrom(...values);
const edgeBox: fc.Arbitrary<GeoBox> = fc
  .tuple(
    edgeValue([-180, -179, -1, 0, 1, 178, 179, 180]),
    edgeValue([-90, -89, -88, 0, 88, 89, 90]),
    edgeValue([-180, -179, -1, 0, 1, 178, 179, 180]),
    edgeValue([-90, -89, -88, 0, 88, 89, 90]),
  )
  .map(([minLon, a, maxLon, b]) => ({ minLon, minLat: Math.min(a, b), maxLon, maxLat: Math.max(a, b) }));
const anyBox = fc.oneof(box, edgeBox);

/** A point of the box, from two fractions (0 and 1 give its edges). */
function pointIn(b: GeoBox, fLat: number, fLon: number): [number, number] {
  const la = b.minLat + (b.maxLat - b.minLat) * fLat;
  const width = b.minLon <= b.maxLon ? b.maxLon - b.minLon : 360 - (b.minLon - b.maxLon);
  let lo = b.minLon + width * fLon;
  if (lo > 180) lo -= 360;
  return [Math.min(b.maxLat, Math.max(b.minLat, la)), lo];
}

/** Whether the closed tile (its last row holding lat 90, its west edge at -180 also being 180) touches the box. */
function tileTouches(tile: number, b: GeoBox): boolean {
  const t = tileBounds(tile);
  if (t.maxLat < b.minLat || t.minLat > b.maxLat) return false;
  const spans =
    b.minLon <= b.maxLon
      ? [[b.minLon, b.maxLon]]
      : [
          [b.minLon, 180],
          [-180, b.maxLon],
        ];
  const tileSpans =
    t.minLon === -180
      ? [
          [t.minLon, t.maxLon],
          [180, 180],
        ]
      : [[t.minLon, t.maxLon]];
  return spans.some(([w, e]) =>
    tileSpans.some(([tw, te]) => (tw as number) <= (e as number) && (te as number) >= (w as number)),
  );
}

const fraction = fc.double({ min: 0, max: 1, noNaN: true });

describe('tileOf', () => {
  it('puts every valid point in one tile, inside that tile', () => {
    fc.assert(
      fc.property(lat, lon, (la, lo) => {
        const tile = tileOf(la, lo);
        expect(tile).toBeGreaterThanOrEqual(0);
        expect(tile).toBeLessThan(TILE_COUNT);
        const t = tileBounds(tile);
        expect(la >= t.minLat && (la < t.maxLat || la === 90)).toBe(true);
        expect((lo >= t.minLon && lo < t.maxLon) || (lo === 180 && t.minLon === -180)).toBe(true);
      }),
    );
  });

  it('has no tile for a missing or out-of-range position (AIS 91/181 included)', () => {
    for (const [la, lo] of [
      [undefined, 0],
      [0, undefined],
      ['10', 10],
      [91, 0],
      [0, 181],
      [Number.NaN, 0],
      [0, Number.POSITIVE_INFINITY],
      [null, null],
    ]) {
      expect(tileOf(la, lo)).toBe(-1);
    }
  });

  it('takes lon 180 as lon -180 and lat 90 into the last row', () => {
    expect(tileOf(0, 180)).toBe(tileOf(0, -180));
    expect(Math.floor(tileOf(90, 0) / TILE_COLUMNS)).toBe(TILE_ROWS - 1);
    expect(Math.floor(tileOf(-90, 0) / TILE_COLUMNS)).toBe(0);
  });
});

describe('coverBoxes', () => {
  it('covers every point of any box, across the antimeridian and at the poles', () => {
    fc.assert(
      fc.property(anyBox, fraction, fraction, (b, fLat, fLon) => {
        const cover = coverBoxes([b]);
        const [la, lo] = pointIn(b, fLat, fLon);
        fc.pre(boxContains(b, la, lo)); // rounding may put a point of a near-global box just outside it
        expect(cover).toContain(tileOf(la, lo));
      }),
      { numRuns: 500 },
    );
  });

  it('covers only tiles that touch the box, each once, ascending', () => {
    fc.assert(
      fc.property(anyBox, (b) => {
        const cover = coverBoxes([b]);
        for (const tile of cover) expect(tileTouches(tile, b)).toBe(true);
        expect([...new Set(cover)].sort((x, y) => x - y)).toEqual(cover);
      }),
      { numRuns: 60 }, // a near-global box covers thousands of tiles, each checked
    );
  });

  it('covers the union of several boxes', () => {
    fc.assert(
      fc.property(fc.array(anyBox, { minLength: 1, maxLength: 4 }), (boxes) => {
        const union = new Set(boxes.flatMap((b) => coverBoxes([b])));
        expect(coverBoxes(boxes)).toEqual([...union].sort((x, y) => x - y));
      }),
      { numRuns: 40 },
    );
  });

  it('splits a box crossing the antimeridian into its two sides', () => {
    const cover = coverBoxes([{ minLon: 177, minLat: 0.5, maxLon: -177, maxLat: 1.5 }]);
    const columns = cover.map((t) => t % TILE_COLUMNS);
    expect(columns).toEqual([0, 1, 178, 179]);
  });

  it('covers the whole band for a box from -180 to 180, column 0 once', () => {
    const cover = coverBoxes([{ minLon: -180, minLat: 0, maxLon: 180, maxLat: 1 }]);
    expect(cover.length).toBe(TILE_COLUMNS);
  });
});

describe('parseRegion', () => {
  it('reads one or several boxes and their cover', () => {
    const parsed = parseRegion(['-10,50,10,60', '170,-5,-170,5']);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.region.boxes).toHaveLength(2);
    expect(Array.from(parsed.region.tiles)).toEqual(
      coverBoxes([
        { minLon: -10, minLat: 50, maxLon: 10, maxLat: 60 },
        { minLon: 170, minLat: -5, maxLon: -170, maxLat: 5 },
      ]),
    );
    expect(hasTile(parsed.region.tiles, tileOf(55, 0))).toBe(true);
    expect(hasTile(parsed.region.tiles, tileOf(0, 0))).toBe(false);
  });

  it.each([
    ['', 'expected minLon,minLat,maxLon,maxLat'],
    ['1,2,3', 'expected minLon,minLat,maxLon,maxLat'],
    ['1,2,3,x', 'expected minLon,minLat,maxLon,maxLat'],
    ['1,2,3,4,5', 'expected minLon,minLat,maxLon,maxLat'],
    ['1e1,2,3,4', 'expected minLon,minLat,maxLon,maxLat'],
    ['Infinity,2,3,4', 'expected minLon,minLat,maxLon,maxLat'],
    ['-181,0,0,1', 'longitudes must be within -180..180'],
    ['0,0,180.5,1', 'longitudes must be within -180..180'],
    ['0,-91,1,1', 'latitudes must be within -90..90'],
    ['0,10,1,5', 'minLat must not exceed maxLat'],
    ['-180,-90,180,90', 'cover more than'],
  ])('refuses %j naming the option', (value, why) => {
    const parsed = parseRegion([value]);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.reason.startsWith('bbox: ')).toBe(true);
    expect(parsed.reason).toContain(why);
  });

  it('refuses too many boxes, and boxes whose union covers too many tiles', () => {
    expect(parseRegion(Array(17).fill('0,0,1,1'))).toMatchObject({ ok: false });
    const quarter = ['-180,0,-118,62', '-116,0,-54,62'];
    const parsed = parseRegion(quarter);
    expect(parsed.ok).toBe(false);
    expect(
      coverBoxes(quarter.map((q) => parseRegion([q])).flatMap((p) => (p.ok ? p.region.boxes : []))).length,
    ).toBeGreaterThan(MAX_TILES_PER_CONNECTION);
  });

  it('never throws and never accepts a box it cannot cover', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 3 }), (values) => {
        const parsed = parseRegion(values);
        if (parsed.ok) expect(parsed.region.tiles.length).toBeLessThanOrEqual(MAX_TILES_PER_CONNECTION);
      }),
    );
  });
});
