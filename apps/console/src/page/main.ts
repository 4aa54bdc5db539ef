import type { HydraStatus } from '@hydra/client';
import { KEY_STORAGE_NAME, readApiKey, streamUrlOf } from './api-key.js';
import { describeStatus } from './connection-status.js';
import { renderPanel } from './feed-panels.js';
import { entityLabel, formatAge, formatField } from './format.js';
import { wireNavigation } from './map-navigation.js';
import { type EntityScope, SCOPES } from './scopes.js';
import { describeFilter, filterFor, type ViewFilter } from './view-filter.js';
import type { FromWorker, StreamView, ToWorker } from './worker-protocol.js';
import { type Picked, WorldMap } from './world-map.js';

/** A scope with no live event for this long is shown stale. */
const STALE_MS = 60_000;
/** Connection log lines kept. */
const LOG_LINES = 10;
/** The view must rest this long before its filter is decided (a zoom or a drag is many steps). */
const VIEW_SETTLE_MS = 400;

type Data = Readonly<Record<string, unknown>>;

const byId = <T extends HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} missing`);
  return node as T;
};
const testId = (id: string): HTMLElement => {
  const node = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!node) throw new Error(`[data-testid=${id}] missing`);
  return node;
};
/** Sets text only when it changed (no layout work for an unchanged cell). */
const setText = (node: HTMLElement, text: string): void => {
  if (node.textContent !== text) node.textContent = text;
};

function sessionStore(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** No key in the fragment or this tab's storage: ask for one (kept in sessionStorage only). */
function askForKey(): void {
  const form = byId<HTMLFormElement>('key-form');
  form.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = byId<HTMLInputElement>('key-input').value.trim();
    if (key === '') return;
    try {
      sessionStore()?.setItem(KEY_STORAGE_NAME, key);
    } catch {
      // not stored: this page still uses it
    }
    form.hidden = true;
    run(key);
  });
  byId<HTMLInputElement>('key-input').focus();
}

/**
 * The page: the stream runs in a worker (stream-worker.ts: the SDK, off
 * this thread); this thread draws the map at animation frames and writes
 * what the worker reports into the page's text.
 */
function run(apiKey: string): void {
  const worker = new Worker('stream-worker.js', { type: 'module', name: 'hydra-stream' });
  const send = (message: ToWorker) => worker.postMessage(message);
  const map = new WorldMap(byId<HTMLCanvasElement>('map'));
  wireNavigation(byId<HTMLCanvasElement>('map'), map, {
    zoomIn: byId('zoom-in'),
    zoomOut: byId('zoom-out'),
    world: byId('zoom-world'),
  });
  const pointer = wirePointer(map, send);
  // The filter asked of the entity scopes (view-filter.ts): decided once the view rests, sent when it changes.
  let asked: ViewFilter = filterFor(map.visible(), null);
  let settle: ReturnType<typeof setTimeout> | undefined;
  map.onView = () => {
    clearTimeout(settle);
    settle = setTimeout(() => {
      const next = filterFor(map.visible(), asked);
      if (next === asked) return;
      asked = next;
      send({ type: 'filter', filter: next });
    }, VIEW_SETTLE_MS);
  };
  showFilter(asked);

  worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    switch (message.type) {
      case 'status':
        showStatus(message.status);
        return;
      case 'resync':
        logLine(`resync ${message.scope} (${message.reason})`, 'resync');
        return;
      case 'described':
        pointer.described(message.scope, message.id, message.data);
        return;
      case 'view':
        showView(message.view, map, pointer);
        return;
      case 'filter':
        showFilter(message.filter);
        logLine(
          `view: ${describeFilter(message.filter)} (${message.entities === 'resume' ? 'resumed' : 'fresh snapshot'})`,
          'filter',
        );
        return;
    }
  });
  worker.addEventListener('error', (event) => logLine(`stream worker failed: ${event.message}`, 'closed'));
  send({ type: 'start', url: streamUrlOf(location), apiKey, filter: asked });

  // For tests and the curious: what the map drew, and where an entity's marker is (no key, no client).
  (window as unknown as { hydraConsole: unknown }).hydraConsole = {
    map: map.stats,
    /** Where the marker of entity `id` (default: the first) of `scope` is, in canvas CSS px. */
    locate: (scope: EntityScope, id?: string) => map.locate(scope, id),
    /** The area the map shows (degrees). */
    visible: () => map.visible(),
  };
}

/** The filter the stream uses, in words; a region's tiles also as `data-area` (west,south,east,north). */
function showFilter(filter: ViewFilter): void {
  const node = testId('mode');
  node.dataset['mode'] = filter.mode;
  node.dataset['area'] =
    filter.mode === 'region'
      ? [filter.area.west, filter.area.south, filter.area.east, filter.area.north].join(',')
      : '';
  setText(node, describeFilter(filter));
}

function showStatus(status: HydraStatus): void {
  const node = testId('status');
  node.dataset['state'] = status.state;
  setText(node, describeStatus(status));
  setText(testId('status-code'), status.code === undefined ? '' : String(status.code));
  // Dials are not logged: a gateway that is down for a while would push everything else out.
  if (status.state !== 'connecting') logLine(describeStatus(status), status.state);
}

function showView(view: StreamView, map: WorldMap, pointer: Pointer): void {
  if (view.layers) map.setLayers(view.layers);
  if (view.rows) {
    for (const scope of SCOPES) {
      const row = view.rows[scope];
      if (!row) continue;
      const tr = testId(`scope-${scope}`);
      tr.classList.toggle('not-granted', view.granted != null && !view.granted.includes(scope));
      tr.classList.toggle('stale', row.ageMs !== null && row.ageMs > STALE_MS);
      // Count and seq come from the same moment of the worker and are written together.
      setText(testId(`count-${scope}`), String(row.count));
      setText(testId(`seq-${scope}`), row.seq < 0 ? '—' : String(row.seq));
      setText(testId(`rate-${scope}`), row.rate.toFixed(1));
      setText(testId(`age-${scope}`), formatAge(row.ageMs));
    }
    setText(testId('markers'), String(map.stats.markers));
  }
  for (const [scope, items] of Object.entries(view.feeds ?? {})) {
    renderPanel(testId(`feed-${scope}`), scope as 'alerts' | 'cyber' | 'signals', items);
  }
  if (view.selected) pointer.showSelected(view.selected.scope, view.selected.id, view.selected.data);
}

interface Pointer {
  described: (scope: EntityScope, id: string, data: Data | null) => void;
  showSelected: (scope: EntityScope, id: string, data: Data | null) => void;
}

/**
 * Hover asks the worker for the entity under the pointer and shows its
 * name and position in a tooltip; click (or Enter on the focused map)
 * selects it: the worker then reports its fields with every view.
 */
function wirePointer(map: WorldMap, send: (message: ToWorker) => void): Pointer {
  const canvas = byId<HTMLCanvasElement>('map');
  const tooltip = byId('tooltip');
  const details = testId('details');
  const title = byId('details-title');
  let hovered: (Picked & { x: number; y: number }) | null = null;

  const hover = (picked: Picked | null, x: number, y: number) => {
    canvas.style.cursor = picked ? 'pointer' : '';
    if (!picked) {
      hovered = null;
      tooltip.hidden = true;
      return;
    }
    if (hovered?.scope !== picked.scope || hovered.id !== picked.id) send({ type: 'describe', ...picked });
    hovered = { ...picked, x, y };
    tooltip.style.left = `${x + 14}px`;
    tooltip.style.top = `${y + 14}px`;
  };
  canvas.addEventListener('mousemove', (event) =>
    hover(map.pick(event.offsetX, event.offsetY), event.offsetX, event.offsetY),
  );
  canvas.addEventListener('mouseleave', () => hover(null, 0, 0));
  const select = (picked: Picked | null) => {
    map.selected = picked;
    map.invalidate();
    send({ type: 'select', target: picked });
    if (!picked) {
      setText(title, 'Nothing selected: click a marker');
      details.replaceChildren();
    }
  };
  canvas.addEventListener('click', (event) => select(map.pick(event.offsetX, event.offsetY)));
  canvas.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') select(null);
    else if (event.key === 'Enter' && hovered) select(hovered);
  });

  return {
    described(scope, id, data) {
      if (!hovered || hovered.scope !== scope || hovered.id !== id || !data) return;
      const name = document.createElement('strong');
      name.textContent = `${entityLabel(scope, data)} (${scope === 'aircraft' ? 'aircraft' : 'vessel'})`;
      const line = document.createElement('span');
      line.textContent = [
        `${formatField(data['lat'])}, ${formatField(data['lon'])}`,
        scope === 'aircraft'
          ? `${formatField(data['altBaroFt'] ?? '?')} ft`
          : `${formatField(data['sogKt'] ?? '?')} kt`,
      ].join(' · ');
      tooltip.replaceChildren(name, line);
      tooltip.hidden = false;
    },
    showSelected(scope, id, data) {
      const current = map.selected;
      if (!current || current.scope !== scope || current.id !== id) return; // an older selection's report
      if (!data) {
        setText(title, `${scope} ${id}: removed`);
        return;
      }
      setText(title, `${entityLabel(scope, data)} (${scope})`);
      const rows: HTMLElement[] = [];
      for (const [name, value] of Object.entries(data)) {
        const dt = document.createElement('dt');
        dt.textContent = name;
        const dd = document.createElement('dd');
        dd.textContent = formatField(value);
        rows.push(dt, dd);
      }
      details.replaceChildren(...rows);
    },
  };
}

/** The connection log: newest first, the last LOG_LINES transitions. */
function logLine(text: string, kind: string): void {
  const list = testId('status-log');
  const item = document.createElement('li');
  item.dataset['kind'] = kind;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  item.append(time, ` ${text}`);
  list.prepend(item);
  while (list.childElementCount > LOG_LINES) list.lastElementChild?.remove();
}

const apiKey = readApiKey(location.hash, sessionStore());
if (apiKey === null) askForKey();
else run(apiKey);
