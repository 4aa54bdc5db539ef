/** Heading buckets of the marker sprites: one sprite per 10°. */
export const HEADING_BUCKETS = 36;

/** A marker's shape in CSS px: a triangle from `ahead` in front of the position to `behind` it, `half` to each side. */
export interface MarkerShape {
  ahead: number;
  behind: number;
  half: number;
}

/**
 * One marker, rasterised: the pixels to paint as (dx, dy) pairs from the
 * marker's position, for its fill and for a one-pixel outline around it
 * (markers stay apart where they crowd).
 */
export interface Sprite {
  fill: Int16Array;
  outline: Int16Array;
}

/**
 * The sprites of one shape at device-pixel `scale`: index b < HEADING_BUCKETS
 * points to b·10° (clockwise from north), index HEADING_BUCKETS is the square
 * drawn when the heading is unknown. Rasterised once per size; painting a
 * marker is then a few dozen array writes (markers are stamped into an
 * ImageData: thousands of canvas path operations per frame cost 50× more
 * in Chromium's software rasteriser, measured).
 */
export function buildSprites(shape: MarkerShape, scale: number): Sprite[] {
  const r = Math.ceil(Math.max(shape.ahead, shape.behind, shape.half) * scale) + 2;
  const size = 2 * r + 1;
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('canvas 2d context unavailable');
  const sprites: Sprite[] = [];
  for (let b = 0; b <= HEADING_BUCKETS; b++) {
    ctx.clearRect(0, 0, size, size);
    ctx.beginPath();
    if (b === HEADING_BUCKETS) {
      const h = shape.half * scale;
      ctx.rect(r + 0.5 - h, r + 0.5 - h, 2 * h, 2 * h);
    } else {
      const rad = ((b * 360) / HEADING_BUCKETS) * (Math.PI / 180);
      const dx = Math.sin(rad);
      const dy = -Math.cos(rad);
      const [a, back, half] = [shape.ahead * scale, shape.behind * scale, shape.half * scale];
      const cx = r + 0.5;
      const cy = r + 0.5;
      ctx.moveTo(cx + dx * a, cy + dy * a);
      ctx.lineTo(cx - dx * back - dy * half, cy - dy * back + dx * half);
      ctx.lineTo(cx - dx * back + dy * half, cy - dy * back - dx * half);
      ctx.closePath();
    }
    ctx.fillStyle = '#000';
    ctx.fill();
    const alpha = ctx.getImageData(0, 0, size, size).data;
    const inside = (x: number, y: number) =>
      x >= 0 && y >= 0 && x < size && y < size && (alpha[(y * size + x) * 4 + 3] ?? 0) >= 96;
    const fill: number[] = [];
    const outline: number[] = [];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if (inside(x, y)) fill.push(x - r, y - r);
        else if (inside(x - 1, y) || inside(x + 1, y) || inside(x, y - 1) || inside(x, y + 1))
          outline.push(x - r, y - r);
      }
    }
    sprites.push({ fill: Int16Array.from(fill), outline: Int16Array.from(outline) });
  }
  return sprites;
}

/** The sprite index for a heading (degrees clockwise from north), or the square's when it is unknown. */
export function spriteIndex(heading: number | undefined): number {
  if (heading === undefined) return HEADING_BUCKETS;
  const b = Math.round(heading / (360 / HEADING_BUCKETS)) % HEADING_BUCKETS;
  return b < 0 ? b + HEADING_BUCKETS : b;
}

/** Paints `offsets` (dx, dy pairs) at (x, y) of a `width`×`height` pixel buffer, clipped to it. */
export function stamp(
  pixels: Uint32Array,
  width: number,
  height: number,
  x: number,
  y: number,
  offsets: Int16Array,
  color: number,
): void {
  for (let i = 0; i < offsets.length; i += 2) {
    const px = x + offsets[i]!;
    const py = y + offsets[i + 1]!;
    if (px >= 0 && px < width && py >= 0 && py < height) pixels[py * width + px] = color;
  }
}
