import type { Bounds } from './view-filter.js';

/** Deepest zoom (the whole world fits at 1): a 900 px map then shows about 5.6° of longitude. */
export const MAX_ZOOM = 64;
const DEG = Math.PI / 180;

/**
 * The map's view: an equirectangular projection (x = tx + k·λ, y = ty − k·φ,
 * CSS px, λ and φ in radians) set by a zoom (1: the whole world fits the
 * canvas, up to MAX_ZOOM) and a centre. The centre is kept so the canvas
 * shows no more than the world where it is smaller than the world (no wrap
 * across the antimeridian, nothing beyond the poles), and the world's
 * centre where it is larger.
 */
export class MapView {
  k = 1;
  tx = 0;
  ty = 0;
  private width = 0;
  private height = 0;
  /** The scale that fits the whole world (zoom 1). */
  private k0 = 1;
  private zoom = 1;
  private centerLon = 0;
  private centerLat = 0;

  /** A new canvas size (CSS px) and the scale that fits the world in it; the zoom and centre stay. */
  resize(width: number, height: number, worldScale: number): void {
    this.width = width;
    this.height = height;
    this.k0 = worldScale;
    this.apply();
  }

  /** Zooms by `factor`, keeping the point under (x, y) (CSS px) where it is. */
  zoomAt(factor: number, x: number, y: number): void {
    const lon = (x - this.tx) / (this.k * DEG);
    const lat = (this.ty - y) / (this.k * DEG);
    this.zoom = Math.min(MAX_ZOOM, Math.max(1, this.zoom * factor));
    const k = this.k0 * this.zoom;
    this.centerLon = lon - (x - this.width / 2) / (k * DEG);
    this.centerLat = lat + (y - this.height / 2) / (k * DEG);
    this.apply();
  }

  /** Moves the view by (dx, dy) CSS px, as a drag does: the world follows the pointer. */
  panBy(dx: number, dy: number): void {
    this.centerLon -= dx / (this.k * DEG);
    this.centerLat += dy / (this.k * DEG);
    this.apply();
  }

  /** Back to the whole world. */
  showWorld(): void {
    this.zoom = 1;
    this.centerLon = 0;
    this.centerLat = 0;
    this.apply();
  }

  /** The area the canvas shows, within the world (degrees); the world before the canvas has a size. */
  visible(): Bounds {
    if (this.width === 0 || this.height === 0) return { west: -180, south: -90, east: 180, north: 90 };
    const halfLon = this.width / 2 / (this.k * DEG);
    const halfLat = this.height / 2 / (this.k * DEG);
    return {
      west: Math.max(-180, this.centerLon - halfLon),
      south: Math.max(-90, this.centerLat - halfLat),
      east: Math.min(180, this.centerLon + halfLon),
      north: Math.min(90, this.centerLat + halfLat),
    };
  }

  private apply(): void {
    const k = this.k0 * this.zoom;
    const halfLon = this.width / 2 / (k * DEG);
    const halfLat = this.height / 2 / (k * DEG);
    const clamp = (v: number, half: number, edge: number) =>
      half >= edge ? 0 : Math.min(edge - half, Math.max(half - edge, v));
    this.centerLon = clamp(this.centerLon, halfLon, 180);
    this.centerLat = clamp(this.centerLat, halfLat, 90);
    this.k = k;
    this.tx = this.width / 2 - k * this.centerLon * DEG;
    this.ty = this.height / 2 + k * this.centerLat * DEG;
  }
}
