import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsedPlace, readEventPlace } from './event-place.js';
import { encodeEventFrame } from './frames.js';
import { tileOf } from './tiles.js';

const frameOf = (dataJson: string) => Buffer.from(encodeEventFrame('aircraft', 7, 1_700_000_000_000, dataJson));

const coordinate = fc.oneof(
  fc.double({ min: -200, max: 200, noNaN: true }),
  fc.integer({ min: -181, max: 181 }),
  fc.constantFrom(91, 181, 1e300, -0),
  fc.string(),
  fc.constant(null),
  fc.jsonValue(),
);
/** Entity data as feeds send it, and worse: ids of any kind, positions of any type, nested look-alike keys. */
const data = fc.record(
  {
    id: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.integer(), fc.constant('a"b\\c/d')),
    lat: coordinate,
    lon: coordinate,
    removed: fc.oneof(fc.boolean(), fc.constant('true')),
    reason: fc.constantFrom('deleted', 'expired', 'left_area'),
    nested: fc.record({ lat: coordinate, id: fc.string(), lon: coordinate }),
    list: fc.array(fc.jsonValue(), { maxLength: 3 }),
    callsign: fc.string({ unit: 'grapheme' }),
  },
  { requiredKeys: [] },
);

describe('readEventPlace', () => {
  it('answers what JSON.parse answers, for any entity data (compact or spaced)', () => {
    fc.assert(
      fc.property(data, fc.boolean(), (d, spaced) => {
        const frame = frameOf(spaced ? JSON.stringify(d, null, 1) : JSON.stringify(d));
        expect(readEventPlace(frame)).toEqual(parsedPlace(frame));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads positions written as short decimals exactly, a hair either side of every tile edge too', () => {
    /** `mantissa` ÷ 10^scale written out as a feed writes it (no exponent). */
    const decimalText = (mantissa: bigint, scale: number) => {
      const digits = (mantissa < 0n ? -mantissa : mantissa).toString().padStart(scale + 1, '0');
      const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
      return mantissa < 0n ? `-${text}` : text;
    };
    /** Near an even degree (a tile edge) or anywhere, with up to 17 digits (past 15 the scan hands over to Number). */
    const coordinateText = (limit: number) =>
      fc
        .record({
          edge: fc.integer({ min: -limit / 2, max: limit / 2 }).map((e) => BigInt(2 * e)),
          scale: fc.integer({ min: 0, max: 15 }),
          delta: fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer()),
        })
        .map(({ edge, scale, delta }) => decimalText(edge * 10n ** BigInt(scale) + BigInt(delta), scale));
    fc.assert(
      fc.property(coordinateText(90), coordinateText(180), (lat, lon) => {
        const frame = frameOf(`{"id":"a","lat":${lat},"lon":${lon}}`);
        expect(readEventPlace(frame)).toEqual(parsedPlace(frame));
      }),
      { numRuns: 5000 },
    );
    const tileOfText = (lat: string, lon: string) =>
      readEventPlace(frameOf(`{"id":"a","lat":${lat},"lon":${lon}}`))?.tile;
    expect(tileOfText('53.9999999999999', '-0.00000000000001')).toBe(tileOf(53.9999999999999, -0.00000000000001));
    expect(tileOfText('54.0', '-0')).toBe(tileOf(54, 0));
    expect(tileOfText('-90', '180.000000000000')).toBe(tileOf(-90, 180));
    expect(tileOfText('90.00000000000001', '3')).toBe(-1);
  });

  it('takes the last of repeated keys, as JSON.parse does', () => {
    const frame = frameOf('{"id":"a","lat":1,"lon":2,"lat":55,"lon":3,"id":"b"}');
    expect(readEventPlace(frame)).toEqual({ id: 'b', tile: tileOf(55, 3), removed: false });
  });

  it('reads a removal, an entity without a position, and no entity', () => {
    expect(readEventPlace(frameOf('{"id":"a","removed":true,"reason":"deleted"}'))).toEqual({
      id: 'a',
      tile: -1,
      removed: true,
    });
    expect(readEventPlace(frameOf('{"id":"a","lat":"55","lon":3}'))).toEqual({ id: 'a', tile: -1, removed: false });
    expect(readEventPlace(frameOf('{"lat":55,"lon":3}'))).toBeNull();
    expect(readEventPlace(frameOf('[1,2]'))).toBeNull();
    expect(readEventPlace(Buffer.from('not json'))).toBeNull();
  });
});
