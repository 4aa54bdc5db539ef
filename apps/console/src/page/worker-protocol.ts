import type { HydraStatus } from '@hydra/client';
import type { EntityScope } from './scopes.js';
import type { ViewFilter } from './view-filter.js';

type Data = Readonly<Record<string, unknown>>;
export type LogScopeName = 'alerts' | 'cyber' | 'signals';

/** Floats per entity in EntityLayer.positions: lon, lat, heading (NaN: unknown), emergency (1 or 0). */
export const POSITION_STRIDE = 4;

/** One entity scope as the map draws it: ids, and their positions at the same index. */
export interface EntityLayer {
  ids: string[];
  positions: Float32Array;
}

/** One row of the Scopes table. */
export interface ScopeRowView {
  count: number;
  seq: number;
  rate: number;
  /** ms since the last live event; null before the first. */
  ageMs: number | null;
}

/** What the page shows, as of one moment of the worker: each part only when it may have changed. */
export interface StreamView {
  layers?: Record<EntityScope, EntityLayer>;
  rows?: Record<string, ScopeRowView>;
  feeds?: Partial<Record<LogScopeName, Data[]>>;
  /** The selected entity's fields now (null: removed), when one is selected. */
  selected?: { scope: EntityScope; id: string; data: Data | null };
  granted?: readonly string[] | null;
}

/** Worker → page. */
export type FromWorker =
  | { type: 'status'; status: HydraStatus }
  | { type: 'resync'; scope: string; reason: string }
  | { type: 'view'; view: StreamView }
  | { type: 'described'; scope: EntityScope; id: string; data: Data | null }
  /** The stream now uses `filter`; its entity scopes resumed (a narrower area) or take a fresh snapshot. */
  | { type: 'filter'; filter: ViewFilter; entities: 'resume' | 'snapshot' };

/** Page → worker. */
export type ToWorker =
  | { type: 'start'; url: string; apiKey: string; filter: ViewFilter }
  /** The map's view asks another filter of the entity scopes (view-filter.ts). */
  | { type: 'filter'; filter: ViewFilter }
  | { type: 'select'; target: { scope: EntityScope; id: string } | null }
  | { type: 'describe'; scope: EntityScope; id: string };
