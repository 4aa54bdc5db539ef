import { type GeoPermissibleObjects, geoEquirectangular, geoGraticule10, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import landTopology from 'world-atlas/land-110m.json';
import { MapView } from './map-view.js';
import { buildSprites, type MarkerShape, type Sprite, spriteIndex, stamp } from './marker-sprites.js';
import type { EntityScope } from './scopes.js';
import type { Bounds } from './view-filter.js';
import { type EntityLayer, POSITION_STRIDE } from './worker-protocol.js';

/** An entity under the pointer, or the selected one. */
export interface Picked {
  scope: EntityScope;
  id: string;
}

const EMPTY_LAYER: EntityLayer = { ids: [], positions: new Float32Array(0) };

/** What the map drew, for the page's text and for tests. */
export interface MapStats {
  /** Frames drawn (a frame is drawn only when something changed). */
  frames: number;
  /** Markers in the last frame drawn (those on the canvas). */
  markers: number;
  /** Duration of the last draw (ms). */
  lastDrawMs: number;
}

interface Palette {
  sea: string;
  land: string;
  coast: string;
  grid: string;
  aircraft: string;
  emergency: string;
  vessel: string;
  outline: string;
  selected: string;
}

/** Marker colours packed as the ImageData's 32-bit pixels. */
interface PixelColors {
  aircraft: number;
  emergency: number;
  vessel: number;
  outline: number;
}

const SHAPES: Readonly<Record<'aircraft' | 'emergency' | 'vessel', MarkerShape>> = {
  aircraft: { ahead: 6, behind: 4, half: 3.5 },
  emergency: { ahead: 8, behind: 5, half: 4.5 },
  vessel: { ahead: 5, behind: 3.5, half: 2.2 },
};

const LAND = feature(
  landTopology as unknown as Topology,
  (landTopology as unknown as Topology).objects['land'] as GeometryCollection,
) as GeoPermissibleObjects;
const SPHERE: GeoPermissibleObjects = { type: 'Sphere' };
const DEG = Math.PI / 180;
/** A pointer this close (CSS px) to a marker picks it. */
const PICK_RADIUS_PX = 10;
/** A marker this far (device px) outside the canvas is not drawn at all. */
const OFF_CANVAS_PX = 16;

/**
 * The world map on a canvas: land outlines (Natural Earth 1:110m from
 * `world-atlas`, bundled: no tile server) drawn once per size or theme on a
 * layer of their own, then every aircraft and vessel as a marker pointing
 * along its track or course, from the positions the stream worker hands over
 * (`setLayers`: a removal is gone at the next frame after it). A frame is
 * drawn only after a change: the land's pixels are copied into a frame buffer, each
 * marker's pre-rasterised sprite is stamped into it (marker-sprites.ts),
 * and the buffer is put on the canvas in one call.
 *
 * The view zooms and pans (map-view.ts): zoomAt, panBy, showWorld; the
 * land is drawn again at the next frame and `onView` is told the visible
 * area after each change.
 */
export class WorldMap {
  readonly stats: MapStats = { frames: 0, markers: 0, lastDrawMs: 0 };
  selected: { scope: EntityScope; id: string } | null = null;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly landLayer = document.createElement('canvas');
  private palette: Palette;
  private colors: PixelColors;
  /** The frame buffer (device pixels) and the land's pixels it starts from at each frame. */
  private frame: ImageData | null = null;
  private framePixels = new Uint32Array(0);
  private landPixels = new Uint32Array(0);
  private sprites: Record<keyof typeof SHAPES, Sprite[]> | null = null;
  private dirty = true;
  /** The view changed: the land is drawn again at the next animation frame. */
  private landDirty = false;
  private width = 0;
  private height = 0;
  private dpr = 1;
  /** The projection: zoom and centre (x = tx + k·λ, y = ty − k·φ). */
  private readonly view = new MapView();
  /** Markers shrink on a small map (a phone) so a dense region stays readable. */
  private markerScale = 1;

  /** Told the visible area after each change of the view (zoom, pan, size). */
  onView: ((visible: Bounds) => void) | null = null;

  /** Each entity scope's positions, as the stream worker last sent them. */
  private layers: Record<EntityScope, EntityLayer> = { aircraft: EMPTY_LAYER, vessels: EMPTY_LAYER };

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('canvas 2d context unavailable');
    this.ctx = ctx;
    this.palette = readPalette(canvas);
    this.colors = pixelColors(this.palette);
    new ResizeObserver(() => this.resize()).observe(canvas);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
      this.palette = readPalette(canvas);
      this.colors = pixelColors(this.palette);
      this.landDirty = true;
    });
    this.resize();
    const frame = () => {
      if (this.landDirty) this.drawLand();
      if (this.dirty) this.draw();
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  /** Something changed (the selection, say): the next animation frame draws. */
  invalidate(): void {
    this.dirty = true;
  }

  /** New positions from the stream worker: drawn at the next animation frame. */
  setLayers(layers: Record<EntityScope, EntityLayer>): void {
    this.layers = layers;
    this.dirty = true;
  }

  /** The entity nearest to a point of the canvas (CSS px), within PICK_RADIUS_PX. */
  pick(x: number, y: number): Picked | null {
    let best: Picked | null = null;
    let bestD2 = PICK_RADIUS_PX * PICK_RADIUS_PX;
    for (const scope of ['vessels', 'aircraft'] as const) {
      const { ids, positions } = this.layers[scope];
      for (let i = 0; i < ids.length; i++) {
        const [px, py] = this.project(positions[i * POSITION_STRIDE]!, positions[i * POSITION_STRIDE + 1]!);
        const d2 = (px - x) ** 2 + (py - y) ** 2;
        if (d2 <= bestD2) {
          bestD2 = d2;
          best = { scope, id: ids[i]! };
        }
      }
    }
    return best;
  }

  /** Where entity `id` (default: the first) of `scope` is drawn, in canvas CSS px; null when it is not. */
  locate(scope: EntityScope, id?: string): { id: string; x: number; y: number } | null {
    const { ids, positions } = this.layers[scope];
    const i = id === undefined ? 0 : ids.indexOf(id);
    if (i < 0 || i >= ids.length) return null;
    const [x, y] = this.project(positions[i * POSITION_STRIDE]!, positions[i * POSITION_STRIDE + 1]!);
    return { id: ids[i]!, x, y };
  }

  /** The area the canvas shows, within the world. */
  visible(): Bounds {
    return this.view.visible();
  }

  /** Zooms by `factor` keeping the point under (x, y) (canvas CSS px) where it is. */
  zoomAt(factor: number, x: number, y: number): void {
    this.view.zoomAt(factor, x, y);
    this.viewChanged();
  }

  /** Moves the view by (dx, dy) CSS px, as a drag does. */
  panBy(dx: number, dy: number): void {
    this.view.panBy(dx, dy);
    this.viewChanged();
  }

  /** Back to the whole world. */
  showWorld(): void {
    this.view.showWorld();
    this.viewChanged();
  }

  /** Canvas position (CSS px) of a lon/lat. */
  project(lon: number, lat: number): [number, number] {
    const { k, tx, ty } = this.view;
    return [tx + k * lon * DEG, ty - k * lat * DEG];
  }

  private resize(): void {
    const dpr = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    if (width === 0 || height === 0) return;
    if (width === this.width && height === this.height && dpr === this.dpr) return;
    this.width = width;
    this.height = height;
    this.dpr = dpr;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    const projection = geoEquirectangular().fitExtent(
      [
        [4, 4],
        [width - 4, height - 4],
      ],
      SPHERE,
    );
    this.view.resize(width, height, projection.scale());
    this.markerScale = Math.min(1, Math.max(0.55, width / 900));
    const scale = this.markerScale * dpr;
    this.sprites = {
      aircraft: buildSprites(SHAPES.aircraft, scale),
      emergency: buildSprites(SHAPES.emergency, scale),
      vessel: buildSprites(SHAPES.vessel, scale),
    };
    this.viewChanged();
  }

  /** The land is drawn again (next frame), the markers with it; `onView` is told. */
  private viewChanged(): void {
    this.landDirty = true;
    this.dirty = true;
    this.onView?.(this.view.visible());
  }

  /** The static layer: sea, graticule, land. */
  private drawLand(): void {
    this.landDirty = false;
    const { width, height, dpr } = this;
    const palette = this.palette;
    if (width === 0) return;
    const layer = this.landLayer;
    layer.width = Math.round(width * dpr);
    layer.height = Math.round(height * dpr);
    const ctx = layer.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const projection = geoEquirectangular().scale(this.view.k).translate([this.view.tx, this.view.ty]);
    const path = geoPath(projection, ctx);
    ctx.beginPath();
    path(SPHERE);
    ctx.fillStyle = palette.sea;
    ctx.fill();
    ctx.beginPath();
    path(geoGraticule10());
    ctx.strokeStyle = palette.grid;
    ctx.lineWidth = 0.5;
    ctx.stroke();
    ctx.beginPath();
    path(LAND);
    ctx.fillStyle = palette.land;
    ctx.fill();
    ctx.strokeStyle = palette.coast;
    ctx.lineWidth = 0.6;
    ctx.stroke();
    const land = ctx.getImageData(0, 0, layer.width, layer.height);
    this.landPixels = new Uint32Array(land.data.buffer);
    if (this.frame?.width !== layer.width || this.frame.height !== layer.height) {
      this.frame = new ImageData(layer.width, layer.height);
      this.framePixels = new Uint32Array(this.frame.data.buffer);
    }
    this.dirty = true;
  }

  private draw(): void {
    const started = performance.now();
    this.dirty = false;
    const ctx = this.ctx;
    const dpr = this.dpr;
    const frame = this.frame;
    const sprites = this.sprites;
    const colors = this.colors;
    if (!frame || !sprites) return;
    const pixels = this.framePixels;
    pixels.set(this.landPixels);
    const { width, height } = frame;
    let markers = 0;
    const { k, tx, ty } = this.view;
    const scale = k * DEG * dpr;
    /** Stamps the markers of one layer: emergencies only, or all but them. */
    const paint = (layer: EntityLayer, emergencies: boolean, kind: Sprite[], color: number): void => {
      const p = layer.positions;
      for (let i = 0; i < p.length; i += POSITION_STRIDE) {
        if ((p[i + 3] === 1) !== emergencies) continue;
        const x = Math.round(tx * dpr + p[i]! * scale);
        const y = Math.round(ty * dpr - p[i + 1]! * scale);
        if (x < -OFF_CANVAS_PX || y < -OFF_CANVAS_PX || x > width + OFF_CANVAS_PX || y > height + OFF_CANVAS_PX)
          continue;
        const heading = p[i + 2]!;
        const sprite = kind[spriteIndex(Number.isNaN(heading) ? undefined : heading)]!;
        stamp(pixels, width, height, x, y, sprite.outline, colors.outline);
        stamp(pixels, width, height, x, y, sprite.fill, color);
        markers++;
      }
    };
    paint(this.layers.vessels, false, sprites.vessel, colors.vessel);
    paint(this.layers.aircraft, false, sprites.aircraft, colors.aircraft);
    // Aircraft declaring an emergency: last, larger and in their own colour.
    paint(this.layers.aircraft, true, sprites.emergency, colors.emergency);
    ctx.putImageData(frame, 0, 0);

    const at = this.selected ? this.locate(this.selected.scope, this.selected.id) : null;
    if (at) {
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.beginPath();
      ctx.arc(at.x, at.y, 9, 0, 2 * Math.PI);
      ctx.strokeStyle = this.palette.selected;
      ctx.lineWidth = 2;
      ctx.stroke();
    }
    this.stats.frames++;
    this.stats.markers = markers;
    this.stats.lastDrawMs = performance.now() - started;
  }
}

/** The map's colours, from the page's CSS custom properties (they follow prefers-color-scheme). */
function readPalette(element: Element): Palette {
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    sea: read('--map-sea', '#0b1d2e'),
    land: read('--map-land', '#23374a'),
    coast: read('--map-coast', '#3d5a73'),
    grid: read('--map-grid', '#14293c'),
    aircraft: read('--map-aircraft', '#ffd166'),
    emergency: read('--map-emergency', '#ff4d4d'),
    vessel: read('--map-vessel', '#4dd0e1'),
    outline: read('--map-outline', '#06121d'),
    selected: read('--map-selected', '#ffffff'),
  };
}

/** A CSS colour as one pixel of an ImageData read as 32-bit words (the platform's byte order). */
function packColor(css: string): number {
  const canvas = document.createElement('canvas');
  canvas.width = 1;
  canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return 0xffffffff;
  ctx.fillStyle = css;
  ctx.fillRect(0, 0, 1, 1);
  return new Uint32Array(ctx.getImageData(0, 0, 1, 1).data.buffer)[0] ?? 0xffffffff;
}

function pixelColors(palette: Palette): PixelColors {
  return {
    aircraft: packColor(palette.aircraft),
    emergency: packColor(palette.emergency),
    vessel: packColor(palette.vessel),
    outline: packColor(palette.outline),
  };
}
