import { type GeoPermissibleObjects, geoEquirectangular, geoGraticule10, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import landTopology from 'world-atlas/land-110m.json';
import { finite, headingOf } from './format.js';

type Data = Readonly<Record<string, unknown>>;
export type EntityScope = 'aircraft' | 'vessels';

/** An entity under the pointer, or the selected one. */
export interface Picked {
  scope: EntityScope;
  id: string;
  data: Data;
}

/** What the map drew, for the page's text and for tests. */
export interface MapStats {
  /** Frames drawn (a frame is drawn only when something changed). */
  frames: number;
  /** Markers in the last frame drawn. */
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
  selected: string;
}

const LAND = feature(
  landTopology as unknown as Topology,
  (landTopology as unknown as Topology).objects['land'] as GeometryCollection,
) as GeoPermissibleObjects;
const SPHERE: GeoPermissibleObjects = { type: 'Sphere' };
const DEG = Math.PI / 180;
/** A pointer this close (CSS px) to a marker picks it. */
const PICK_RADIUS_PX = 10;

/**
 * The world map on a canvas: land outlines (Natural Earth 1:110m from
 * `world-atlas`, bundled: no tile server) drawn once per size or theme on a
 * layer of their own, then every aircraft and vessel as a marker pointing
 * along its track or course, read from the SDK's entity maps at each frame
 * (so a removal is gone at the next frame). A frame is drawn only after
 * `invalidate()`; all markers of a kind are one path and one fill.
 */
export class WorldMap {
  readonly stats: MapStats = { frames: 0, markers: 0, lastDrawMs: 0 };
  selected: { scope: EntityScope; id: string } | null = null;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly landLayer = document.createElement('canvas');
  private palette: Palette;
  private dirty = true;
  private width = 0;
  private height = 0;
  private dpr = 1;
  /** The equirectangular projection's scale and translation (x = tx + k·λ, y = ty − k·φ). */
  private k = 1;
  private tx = 0;
  private ty = 0;
  /** Markers shrink on a small map (a phone) so a dense region stays readable. */
  private markerScale = 1;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    /** Each entity scope's current entities (the SDK's maps, read at every frame). */
    readonly entities: Readonly<Record<EntityScope, () => ReadonlyMap<string, Data>>>,
  ) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('canvas 2d context unavailable');
    this.ctx = ctx;
    this.palette = readPalette(canvas);
    new ResizeObserver(() => this.resize()).observe(canvas);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
      this.palette = readPalette(canvas);
      this.drawLand();
    });
    this.resize();
    const frame = () => {
      if (this.dirty) this.draw();
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  /** Something changed: the next animation frame draws. */
  invalidate(): void {
    this.dirty = true;
  }

  /** The entity nearest to a point of the canvas (CSS px), within PICK_RADIUS_PX. */
  pick(x: number, y: number): Picked | null {
    let best: Picked | null = null;
    let bestD2 = PICK_RADIUS_PX * PICK_RADIUS_PX;
    for (const scope of ['vessels', 'aircraft'] as const) {
      for (const [id, data] of this.entities[scope]()) {
        const p = this.project(data);
        if (!p) continue;
        const d2 = (p[0] - x) ** 2 + (p[1] - y) ** 2;
        if (d2 <= bestD2) {
          bestD2 = d2;
          best = { scope, id, data };
        }
      }
    }
    return best;
  }

  /** Canvas position (CSS px) of an entity's lat/lon, or null without a valid position. */
  project(data: Data): [number, number] | null {
    const lat = finite(data['lat']);
    const lon = finite(data['lon']);
    if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
    return [this.tx + this.k * lon * DEG, this.ty - this.k * lat * DEG];
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
    this.k = projection.scale();
    this.markerScale = Math.min(1, Math.max(0.55, width / 900));
    [this.tx, this.ty] = projection.translate();
    this.drawLand();
  }

  /** The static layer: sea, graticule, land. */
  private drawLand(): void {
    const { width, height, dpr } = this;
    const palette = this.palette;
    if (width === 0) return;
    const layer = this.landLayer;
    layer.width = Math.round(width * dpr);
    layer.height = Math.round(height * dpr);
    const ctx = layer.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const projection = geoEquirectangular().scale(this.k).translate([this.tx, this.ty]);
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
    this.dirty = true;
  }

  private draw(): void {
    const started = performance.now();
    this.dirty = false;
    const { ctx, dpr } = this;
    const palette = this.palette;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.landLayer, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    let markers = 0;

    // Vessels: a narrow hull shape along the heading (a square when it is unknown).
    ctx.beginPath();
    for (const data of this.entities.vessels().values()) {
      if (this.trace(data, headingOf('vessels', data), 5, 2.2, 3.5)) markers++;
    }
    ctx.fillStyle = palette.vessel;
    ctx.fill();

    // Aircraft: a triangle along the track; those declaring an emergency in their own colour, drawn last.
    const emergencies: Data[] = [];
    ctx.beginPath();
    for (const data of this.entities.aircraft().values()) {
      const emergency = data['emergency'];
      if (typeof emergency === 'string' && emergency !== 'none') {
        emergencies.push(data);
        continue;
      }
      if (this.trace(data, headingOf('aircraft', data), 6, 3.5, 4)) markers++;
    }
    ctx.fillStyle = palette.aircraft;
    ctx.fill();
    ctx.beginPath();
    for (const data of emergencies) if (this.trace(data, headingOf('aircraft', data), 8, 4.5, 5)) markers++;
    ctx.fillStyle = palette.emergency;
    ctx.fill();

    const selected = this.selected && this.entities[this.selected.scope]().get(this.selected.id);
    const at = selected ? this.project(selected) : null;
    if (at) {
      ctx.beginPath();
      ctx.arc(at[0], at[1], 9, 0, 2 * Math.PI);
      ctx.strokeStyle = palette.selected;
      ctx.lineWidth = 2;
      ctx.stroke();
    }
    this.stats.frames++;
    this.stats.markers = markers;
    this.stats.lastDrawMs = performance.now() - started;
  }

  /**
   * Adds one marker to the current path: a triangle from `ahead` px in front
   * of the position to `behind` px behind it, `half` px to each side; with no
   * heading, a square. false: no position (nothing drawn).
   */
  private trace(data: Data, heading: number | undefined, ahead: number, half: number, behind: number): boolean {
    const p = this.project(data);
    if (!p) return false;
    const [x, y] = p;
    const ctx = this.ctx;
    const m = this.markerScale;
    ahead *= m;
    half *= m;
    behind *= m;
    if (heading === undefined) {
      ctx.rect(x - half, y - half, 2 * half, 2 * half);
      return true;
    }
    const dx = Math.sin(heading * DEG);
    const dy = -Math.cos(heading * DEG);
    ctx.moveTo(x + dx * ahead, y + dy * ahead);
    ctx.lineTo(x - dx * behind - dy * half, y - dy * behind + dx * half);
    ctx.lineTo(x - dx * behind + dy * half, y - dy * behind - dx * half);
    ctx.closePath();
    return true;
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
    selected: read('--map-selected', '#ffffff'),
  };
}
