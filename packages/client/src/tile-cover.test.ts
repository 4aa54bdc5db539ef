import { coverBoxes, type GeoBox, tileOf as protocolTileOf } from '@hydra/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coverTiles, tileOf } from './tile-cover.js';

const lat = fc.oneof(fc.double({ min: -90, max: 90, noNaN: true }), fc.constantFrom(-90, -0, 0, 1.9999999, 2, 89, 90));
const lon = fc.oneof(fc.double({ min: -180, max: 180, noNaN: true }), fc.constantFrom(-180, 0, 179.99999, 180));
const box: fc.Arbitrary<GeoBox> = fc
  .tuple(lon, lat, fc.double({ min: 0, max: 30, noNaN: true }), fc.double({ min: 0, max: 30, noNaN: true }))
  .map(([minLon, minLat, w, h]) => {
    const maxLon = minLon + w > 180 ? minLon + w - 360 : minLon + w; // past 180: across the antimeridian
    return { minLon, minLat, maxLon, maxLat: Math.min(90, minLat + h) };
  });

describe("the client's copy of the tile grid", () => {
  it("puts every position in the gateway's tile (packages/protocol), -1 without a valid one", () => {
    fc.assert(fc.property(lat, lon, (a, o) => tileOf(a, o) === protocolTileOf(a, o)));
    for (const [a, o] of [
      [91, 0],
      [0, 181],
      ['1', 2],
      [Number.NaN, 0],
      [undefined, 0],
    ]) {
      expect(tileOf(a, o)).toBe(-1);
    }
  });

  it('covers any box (antimeridian, poles) with the same tiles as the gateway', () => {
    fc.assert(
      fc.property(fc.array(box, { minLength: 1, maxLength: 3 }), (boxes) => {
        expect([...coverTiles(boxes)].sort((x, y) => x - y)).toEqual(coverBoxes(boxes));
      }),
    );
  });
});
