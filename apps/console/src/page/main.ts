import { HydraClient, type HydraStatus } from '@hydra/client';
import { KEY_STORAGE_NAME, readApiKey, streamUrlOf } from './api-key.js';
import { describeStatus } from './connection-status.js';
import { PANEL_ROWS, renderPanel } from './feed-panels.js';
import { entityLabel, formatAge, formatField } from './format.js';
import { ScopeStats } from './scope-stats.js';
import { isEntityScope, type LOG_SCOPES, SCOPES, type Scope } from './scopes.js';
import { type EntityScope, type Picked, WorldMap } from './world-map.js';

/** The page's text is refreshed this often (the map draws at animation frames, only when something changed). */
const RENDER_MS = 250;
/** A scope with no live event for this long is shown stale. */
const STALE_MS = 60_000;
/** Connection log lines kept. */
const LOG_LINES = 10;

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

function run(apiKey: string): void {
  const client = new HydraClient({ url: streamUrlOf(location), apiKey, recentLimit: PANEL_ROWS });
  const stats = Object.fromEntries(SCOPES.map((scope) => [scope, new ScopeStats()])) as Record<Scope, ScopeStats>;
  const entities = (scope: EntityScope) => () => client.entities(scope) as ReadonlyMap<string, Data>;
  const map = new WorldMap(byId<HTMLCanvasElement>('map'), {
    aircraft: entities('aircraft'),
    vessels: entities('vessels'),
  });
  const stalePanels = new Set<(typeof LOG_SCOPES)[number]>();
  let granted: readonly string[] | null = null;

  client.on('snapshot', ({ scope, seq, items }) => {
    stats[scope]?.snapshot(seq, items.length);
    if (isEntityScope(scope)) map.invalidate();
    else stalePanels.add(scope as (typeof LOG_SCOPES)[number]);
  });
  client.on('event', ({ type, seq }) => {
    stats[type]?.event(seq, Date.now());
    if (isEntityScope(type)) map.invalidate();
    else stalePanels.add(type as (typeof LOG_SCOPES)[number]);
  });
  client.on('resync', ({ scope, reason }) => logLine(`resync ${scope} (${reason})`, 'resync'));
  client.on('status', (status: HydraStatus) => {
    const status_ = testId('status');
    status_.dataset['state'] = status.state;
    setText(status_, describeStatus(status));
    setText(testId('status-code'), status.code === undefined ? '' : String(status.code));
    if (status.state === 'open') granted = status.scopes ?? null;
    // Dials are not logged: a gateway that is down for a while would push everything else out.
    if (status.state !== 'connecting') logLine(describeStatus(status), status.state);
  });

  const pointer = wirePointer(map);

  const render = () => {
    const now = Date.now();
    for (const scope of SCOPES) {
      const s = stats[scope];
      const count = isEntityScope(scope) ? client.entities(scope).size : s.items;
      const row = testId(`scope-${scope}`);
      row.classList.toggle('not-granted', granted !== null && !granted.includes(scope));
      const age = s.age(now);
      row.classList.toggle('stale', age !== null && age > STALE_MS);
      // Count and seq are written in the same task: the page never shows a count from another seq.
      setText(testId(`count-${scope}`), String(count));
      setText(testId(`seq-${scope}`), s.seq < 0 ? '—' : String(s.seq));
      setText(testId(`rate-${scope}`), s.rate(now).toFixed(1));
      setText(testId(`age-${scope}`), formatAge(age));
    }
    for (const scope of stalePanels) renderPanel(testId(`feed-${scope}`), scope, client.recent(scope) as Data[]);
    stalePanels.clear();
    setText(testId('markers'), String(map.stats.markers));
    pointer.refresh();
  };
  setInterval(render, RENDER_MS);
  render();

  // For tests and the curious: what the map drew, and where an entity's marker is (no key, no client).
  (window as unknown as { hydraConsole: unknown }).hydraConsole = {
    map: map.stats,
    /** Where the marker of entity `id` (default: the first with a position) of `scope` is, in canvas CSS px. */
    locate(scope: EntityScope, id?: string): { id: string; x: number; y: number } | null {
      const candidates = id === undefined ? client.entities(scope) : [[id, client.entities(scope).get(id)] as const];
      for (const [entityId, data] of candidates) {
        const at = data ? map.project(data as Data) : null;
        if (at) return { id: entityId, x: at[0], y: at[1] };
      }
      return null;
    },
  };
}

/** Hover shows an entity's name and position in a tooltip; click (or Enter on a focused map) selects it. */
function wirePointer(map: WorldMap): { refresh: () => void } {
  const canvas = byId<HTMLCanvasElement>('map');
  const tooltip = byId('tooltip');
  let hovered: Picked | null = null;
  const show = (picked: Picked | null, x: number, y: number) => {
    hovered = picked;
    canvas.style.cursor = picked ? 'pointer' : '';
    if (!picked) {
      tooltip.hidden = true;
      return;
    }
    const d = picked.data;
    tooltip.replaceChildren();
    const title = document.createElement('strong');
    title.textContent = `${entityLabel(picked.scope, d)} (${picked.scope === 'aircraft' ? 'aircraft' : 'vessel'})`;
    const line = document.createElement('span');
    line.textContent = [
      `${formatField(d['lat'])}, ${formatField(d['lon'])}`,
      picked.scope === 'aircraft' ? `${formatField(d['altBaroFt'] ?? '?')} ft` : `${formatField(d['sogKt'] ?? '?')} kt`,
    ].join(' · ');
    tooltip.append(title, line);
    tooltip.style.left = `${x + 14}px`;
    tooltip.style.top = `${y + 14}px`;
    tooltip.hidden = false;
  };
  canvas.addEventListener('mousemove', (event) =>
    show(map.pick(event.offsetX, event.offsetY), event.offsetX, event.offsetY),
  );
  canvas.addEventListener('mouseleave', () => show(null, 0, 0));
  const select = (picked: Picked | null) => {
    map.selected = picked ? { scope: picked.scope, id: picked.id } : null;
    map.invalidate();
    refresh();
  };
  canvas.addEventListener('click', (event) => select(map.pick(event.offsetX, event.offsetY)));
  canvas.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') select(null);
    else if (event.key === 'Enter' && hovered) select(hovered);
  });

  /** The selected entity's fields, current (or "removed" once the stream removed it). */
  const details = testId('details');
  const title = byId('details-title');
  const refresh = () => {
    const selected = map.selected;
    if (!selected) {
      setText(title, 'Nothing selected: click a marker');
      if (details.childElementCount > 0) details.replaceChildren();
      return;
    }
    const current = map.entities[selected.scope]().get(selected.id);
    if (!current) {
      setText(title, `${selected.scope} ${selected.id}: removed`);
      return;
    }
    setText(title, `${entityLabel(selected.scope, current)} (${selected.scope})`);
    const rows: HTMLElement[] = [];
    for (const [name, value] of Object.entries(current)) {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = formatField(value);
      rows.push(dt, dd);
    }
    details.replaceChildren(...rows);
  };
  return { refresh };
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
