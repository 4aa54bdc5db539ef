import { isPlainObject } from './describe-value.js';
import { expected, type FieldRule } from './field-rules.js';

const COORDINATE_TYPES: ReadonlySet<unknown> = new Set([
  'Point',
  'MultiPoint',
  'LineString',
  'MultiLineString',
  'Polygon',
  'MultiPolygon',
]);

const GEOMETRY_TYPES = [...COORDINATE_TYPES, 'GeometryCollection'].join(', ');

/**
 * A GeoJSON (RFC 7946) geometry object. Checked: `type` is a geometry type,
 * `coordinates` (or `geometries` for a GeometryCollection) is an array, and a
 * Point's position is `[lon, lat]` within range (catching CAP's "lat,lon"
 * order when the latitude slot overflows). Deeper positions are not walked,
 * to keep validation O(1) in the size of the geometry.
 */
export const geoJsonGeometry: FieldRule = (v) => {
  if (!isPlainObject(v)) return expected('a GeoJSON geometry object', v);
  const type = v['type'];
  if (type === 'GeometryCollection') {
    return Array.isArray(v['geometries']) ? undefined : `.geometries${expected('an array', v['geometries'])}`;
  }
  if (!COORDINATE_TYPES.has(type)) return `.type${expected(`one of ${GEOMETRY_TYPES}`, type)}`;
  const coordinates = v['coordinates'];
  if (!Array.isArray(coordinates)) return `.coordinates${expected('an array', coordinates)}`;
  if (type === 'Point') {
    const [lon, lat] = coordinates;
    if (coordinates.length < 2 || coordinates.length > 3) {
      return `.coordinates${expected('a position [lon, lat] or [lon, lat, alt]', coordinates)}`;
    }
    if (typeof lon !== 'number' || !Number.isFinite(lon) || lon < -180 || lon > 180) {
      return `.coordinates[0]${expected('a longitude in [-180, 180]', lon)}`;
    }
    if (typeof lat !== 'number' || !Number.isFinite(lat) || lat < -90 || lat > 90) {
      return `.coordinates[1]${expected('a latitude in [-90, 90]', lat)}`;
    }
  }
  return undefined;
};
