import type { WorldMap } from './world-map.js';

/** A pointer that moved this far (CSS px) between press and release dragged the map: no click. */
const DRAG_PX = 4;
/** Zoom per wheel pixel (a mouse notch of 100 px: about ×1.22). */
const WHEEL_ZOOM = 0.002;
/** The buttons' and keys' zoom step. */
const STEP = 2;
/** Arrow keys pan by this share of the map's size. */
const KEY_PAN = 1 / 8;

/**
 * Zoom and pan for the map: the wheel and a double-click zoom at the
 * pointer, a drag pans, the buttons and keys (+, −, 0 for the world, arrows
 * on the focused map) do the same from the centre. A drag is not a click,
 * so it selects nothing.
 */
export function wireNavigation(
  canvas: HTMLCanvasElement,
  map: WorldMap,
  buttons: { zoomIn: HTMLElement; zoomOut: HTMLElement; world: HTMLElement },
): void {
  const centre = (): [number, number] => [canvas.clientWidth / 2, canvas.clientHeight / 2];
  canvas.addEventListener(
    'wheel',
    (event) => {
      event.preventDefault();
      map.zoomAt(Math.exp(-event.deltaY * WHEEL_ZOOM), event.offsetX, event.offsetY);
    },
    { passive: false },
  );
  canvas.addEventListener('dblclick', (event) => map.zoomAt(STEP, event.offsetX, event.offsetY));

  let press: { x: number; y: number; lastX: number; lastY: number; dragged: boolean } | null = null;
  canvas.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    press = { x: event.clientX, y: event.clientY, lastX: event.clientX, lastY: event.clientY, dragged: false };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!press) return;
    if (Math.hypot(event.clientX - press.x, event.clientY - press.y) > DRAG_PX) press.dragged = true;
    if (!press.dragged) return;
    map.panBy(event.clientX - press.lastX, event.clientY - press.lastY);
    press.lastX = event.clientX;
    press.lastY = event.clientY;
  });
  let dragEnded = false;
  const release = () => {
    dragEnded = press?.dragged === true;
    press = null;
  };
  canvas.addEventListener('pointerup', release);
  canvas.addEventListener('pointercancel', release);
  // Registered before the page's click handler (main.ts): a drag's click stops here.
  canvas.addEventListener('click', (event) => {
    if (dragEnded) event.stopImmediatePropagation();
    dragEnded = false;
  });

  buttons.zoomIn.addEventListener('click', () => map.zoomAt(STEP, ...centre()));
  buttons.zoomOut.addEventListener('click', () => map.zoomAt(1 / STEP, ...centre()));
  buttons.world.addEventListener('click', () => map.showWorld());
  canvas.addEventListener('keydown', (event) => {
    const [x, y] = centre();
    switch (event.key) {
      case '+':
      case '=':
        map.zoomAt(STEP, x, y);
        break;
      case '-':
        map.zoomAt(1 / STEP, x, y);
        break;
      case '0':
        map.showWorld();
        break;
      case 'ArrowLeft':
        map.panBy(canvas.clientWidth * KEY_PAN, 0);
        break;
      case 'ArrowRight':
        map.panBy(-canvas.clientWidth * KEY_PAN, 0);
        break;
      case 'ArrowUp':
        map.panBy(0, canvas.clientHeight * KEY_PAN);
        break;
      case 'ArrowDown':
        map.panBy(0, -canvas.clientHeight * KEY_PAN);
        break;
      default:
        return;
    }
    event.preventDefault();
  });
}
