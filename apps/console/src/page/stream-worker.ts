import { HydraClient, type HydraFilter } from '@hydra/client';
import { finite, headingOf } from './format.js';
import { ScopeStats } from './scope-stats.js';
import { ENTITY_SCOPES, type EntityScope, isEntityScope, LOG_SCOPES, SCOPES, type Scope } from './scopes.js';
import { bboxOf, type ViewFilter } from './view-filter.js';
import {
  type EntityLayer,
  type FromWorker,
  type LogScopeName,
  POSITION_STRIDE,
  type ScopeRowView,
  type ToWorker,
} from './worker-protocol.js';

/**
 * The stream, off the page's main thread: this worker runs the SDK (socket,
 * parsing, reconnects, entity state) and hands the page, at a bounded pace,
 * what it draws: each entity scope as one Float32Array of positions (moved,
 * not copied), the Scopes table's rows, the log panels that changed, and the
 * selected entity. Thousands of WebSocket messages a second then cost the
 * page nothing but a few messages from here.
 */

/** The map's data goes to the page at most this often (entities report every 1.5 s at the fastest). */
const LAYERS_MS = 100;
/** The table's numbers and the feeds. */
const ROWS_MS = 250;
/** Items kept per log scope, as many as a panel shows. */
const RECENT = 50;

type Data = Readonly<Record<string, unknown>>;

const post = (message: FromWorker, transfer: Transferable[] = []): void =>
  (self as unknown as { postMessage: (m: FromWorker, t: Transferable[]) => void }).postMessage(message, transfer);

let client: HydraClient | null = null;
let selected: { scope: EntityScope; id: string } | null = null;
let granted: readonly string[] | null = null;
const stats = Object.fromEntries(SCOPES.map((scope) => [scope, new ScopeStats()])) as Record<Scope, ScopeStats>;
const changedEntities = new Set<string>();
const changedFeeds = new Set<LogScopeName>();

/** What the SDK is asked for a view filter: the tier's `conflate`, or the region's one box. */
const hydraFilter = (filter: ViewFilter): HydraFilter =>
  filter.mode === 'tier' ? { conflate: filter.conflateMs } : { bbox: [bboxOf(filter.area)] };

function start(url: string, apiKey: string, filter: ViewFilter): void {
  const c = new HydraClient({ url, apiKey, recentLimit: RECENT, ...hydraFilter(filter) });
  client = c;
  c.on('snapshot', ({ scope, seq, items }) => {
    stats[scope]?.snapshot(seq, items.length);
    if (isEntityScope(scope)) changedEntities.add(scope);
    else changedFeeds.add(scope as LogScopeName);
  });
  c.on('event', ({ type, seq }) => {
    stats[type]?.event(seq, Date.now());
    if (isEntityScope(type)) changedEntities.add(type);
    else changedFeeds.add(type as LogScopeName);
  });
  c.on('resync', ({ scope, reason }) => post({ type: 'resync', scope, reason }));
  c.on('status', (status) => {
    if (status.state === 'open') granted = status.scopes ?? null;
    post({ type: 'status', status });
  });
  setInterval(postLayers, LAYERS_MS);
  setInterval(postRows, ROWS_MS);
}

function layer(entities: ReadonlyMap<string, Data>, scope: EntityScope): EntityLayer {
  const ids: string[] = [];
  const positions = new Float32Array(entities.size * POSITION_STRIDE);
  let i = 0;
  for (const [id, data] of entities) {
    const lat = finite(data['lat']);
    const lon = finite(data['lon']);
    if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) continue;
    const emergency = data['emergency'];
    ids.push(id);
    positions[i++] = lon;
    positions[i++] = lat;
    positions[i++] = headingOf(scope, data) ?? Number.NaN;
    positions[i++] = typeof emergency === 'string' && emergency !== 'none' ? 1 : 0;
  }
  return { ids, positions: positions.subarray(0, i) };
}

function selectedView() {
  if (!client || !selected) return undefined;
  return { ...selected, data: (client.entities(selected.scope).get(selected.id) as Data | undefined) ?? null };
}

/** The entity scopes, when an entity changed since the last post. */
function postLayers(): void {
  if (!client || changedEntities.size === 0) return;
  changedEntities.clear();
  const aircraft = layer(client.entities('aircraft') as ReadonlyMap<string, Data>, 'aircraft');
  const vessels = layer(client.entities('vessels') as ReadonlyMap<string, Data>, 'vessels');
  post({ type: 'view', view: { layers: { aircraft, vessels }, selected: selectedView() } }, [
    aircraft.positions.buffer as ArrayBuffer,
    vessels.positions.buffer as ArrayBuffer,
  ]);
}

/**
 * The Scopes table (each row's count and seq from the same moment) and the
 * panels whose scope changed.
 */
function postRows(): void {
  if (!client) return;
  const now = Date.now();
  const rows: Record<string, ScopeRowView> = {};
  for (const scope of SCOPES) {
    const s = stats[scope];
    const count = (ENTITY_SCOPES as readonly string[]).includes(scope) ? client.entities(scope).size : s.items;
    rows[scope] = { count, seq: s.seq, rate: s.rate(now), ageMs: s.age(now) };
  }
  const feeds: Partial<Record<LogScopeName, Data[]>> = {};
  for (const scope of changedFeeds)
    if ((LOG_SCOPES as readonly string[]).includes(scope)) feeds[scope] = client.recent(scope) as Data[];
  changedFeeds.clear();
  post({ type: 'view', view: { rows, feeds, granted, selected: selectedView() } });
}

self.addEventListener('message', (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'start':
      if (!client) start(message.url, message.apiKey, message.filter);
      return;
    case 'filter': {
      if (!client) return;
      let entities: 'resume' | 'snapshot';
      try {
        // Resumes where the entities held stay exact (and drops those outside), else a fresh snapshot (SDK).
        entities = client.setFilter(hydraFilter(message.filter));
      } catch {
        return; // the client ended (a revoked key, say): the status shows it
      }
      for (const scope of ENTITY_SCOPES) changedEntities.add(scope);
      post({ type: 'filter', filter: message.filter, entities });
      return;
    }
    case 'select':
      selected = message.target;
      post({ type: 'view', view: { selected: selectedView() } });
      return;
    case 'describe': {
      const data = (client?.entities(message.scope).get(message.id) as Data | undefined) ?? null;
      post({ type: 'described', scope: message.scope, id: message.id, data });
      return;
    }
  }
});
