import { describe, expect, it } from 'vitest';
import { MAX_ZOOM, MapView } from './map-view.js';

const DEG = Math.PI / 180;
/** A 900 × 450 px canvas: the world fits at this scale (360° across 900 px). */
const WIDTH = 900;
const HEIGHT = 450;
const WORLD_SCALE = WIDTH / (2 * Math.PI);

const lonLatAt = (view: MapView, x: number, y: number) => ({
  lon: (x - view.tx) / (view.k * DEG),
  lat: (view.ty - y) / (view.k * DEG),
});

const fresh = () => {
  const view = new MapView();
  view.resize(WIDTH, HEIGHT, WORLD_SCALE);
  return view;
};

describe('MapView', () => {
  it('shows the whole world at zoom 1, and before the canvas has a size', () => {
    expect(fresh().visible()).toEqual({ west: -180, south: -90, east: 180, north: 90 });
    expect(new MapView().visible()).toEqual({ west: -180, south: -90, east: 180, north: 90 });
  });

  it('zooms keeping the point under the pointer where it is', () => {
    const view = fresh();
    const before = lonLatAt(view, 480, 90); // about 12°E, 54°N
    view.zoomAt(8, 480, 90);
    const after = lonLatAt(view, 480, 90);
    expect(after.lon).toBeCloseTo(before.lon, 9);
    expect(after.lat).toBeCloseTo(before.lat, 9);
    const { west, east, south, north } = view.visible();
    expect(east - west).toBeCloseTo(360 / 8, 9);
    expect(north - south).toBeCloseTo(180 / 8, 9);
  });

  it('keeps the view within the world: pans stop at the edges, zoom stays in 1..MAX_ZOOM', () => {
    const view = fresh();
    view.zoomAt(4, WIDTH / 2, HEIGHT / 2);
    view.panBy(10_000, -10_000); // far west and south
    const v = view.visible();
    expect(v.west).toBeCloseTo(-180, 9);
    expect(v.south).toBeCloseTo(-90, 9);
    expect(v.east - v.west).toBeCloseTo(90, 9);
    view.zoomAt(1 / 1000, 0, 0);
    expect(view.visible()).toEqual({ west: -180, south: -90, east: 180, north: 90 });
    view.zoomAt(1e6, WIDTH / 2, HEIGHT / 2);
    expect(view.k).toBeCloseTo(WORLD_SCALE * MAX_ZOOM, 9);
    view.showWorld();
    expect(view.visible()).toEqual({ west: -180, south: -90, east: 180, north: 90 });
  });
});
