import type { EventData, ResumePosition, Scope } from '@hydra/protocol';

/**
 * The entity scopes (keyed state), as packages/protocol's SCOPE_KIND says
 * (scope-view.test.ts checks): copied, not imported, so the browser bundle
 * holds no protocol code. A scope the client does not know is a log scope.
 */
export const ENTITY_SCOPES: readonly string[] = ['aircraft', 'vessels'];

/** One snapshot part's `data`, as far as the client reads it. */
export interface SnapshotData {
  scope: Scope;
  seq: number;
  ts?: number;
  part?: number;
  parts?: number;
  complete?: boolean;
  items: EventData[];
}

/**
 * What the client knows of one scope: the position it delivered last (the
 * next connection's resume point, with its ts proof), the scope's state
 * (entities by id, or the recent items of a log scope) and a snapshot being
 * assembled from its parts.
 */
export class ScopeView {
  /** The last seq delivered (a complete snapshot's or an event's); -1: none, the next connection gets a snapshot. */
  seq = -1;
  ts = 0;
  readonly entities = new Map<string, EventData>();
  recent: EventData[] = [];
  /** A resync's reason, until its fresh snapshot completes. */
  resyncReason: string | null = null;
  private parts: EventData[] | null = null;

  constructor(
    readonly entity: boolean,
    private readonly recentLimit: number,
  ) {}

  get position(): ResumePosition | null {
    return this.seq < 0 ? null : { seq: this.seq, ts: this.ts };
  }

  /** Forgets the position (a resync, a refused resume): the next connection takes a snapshot. */
  forgetPosition(): void {
    this.seq = -1;
    this.ts = 0;
  }

  /** A connection ended: a snapshot cut short is dropped (the next connection sends it again). */
  abandonParts(): void {
    this.parts = null;
  }

  /** Adds one part; returns every item once the snapshot is complete, else null. */
  addPart(data: SnapshotData): EventData[] | null {
    if ((data.part ?? 1) === 1) this.parts = [];
    const parts = this.parts ?? [];
    for (const item of data.items) parts.push(item);
    this.parts = parts;
    if (data.complete === false) return null;
    this.parts = null;
    return parts;
  }

  /** The scope's state becomes the snapshot's. */
  replace(items: EventData[], seq: number, ts: number): void {
    this.seq = seq;
    this.ts = ts;
    this.entities.clear();
    if (this.entity) for (const item of items) this.entities.set(String(item.id), item);
    this.recent = this.entity ? [] : items.slice(-this.recentLimit);
  }

  /**
   * A `left_area` removal (a `bbox` connection): the entity leaves the state,
   * the position stays (the event that moved it may follow at the same seq,
   * and a resume from here must replay it).
   */
  leaveArea(data: EventData): void {
    this.entities.delete(String(data.id));
    this.recent.push(data);
    if (this.recent.length > this.recentLimit) this.recent.shift();
  }

  /**
   * The client's filter narrowed (HydraClient.setFilter): the entities the
   * new filter does not cover leave the state; the position stays, so a
   * resume from it continues exactly the narrowed view.
   */
  keepOnly(keep: (data: EventData) => boolean): void {
    for (const [id, data] of this.entities) if (!keep(data)) this.entities.delete(id);
  }

  /** One event in order: the position moves, the state follows (an upsert, a removal, a log item). */
  apply(seq: number, ts: number, data: EventData): void {
    this.seq = seq;
    this.ts = ts;
    if (this.entity) {
      if (data.removed === true) this.entities.delete(String(data.id));
      else this.entities.set(String(data.id), data);
    }
    this.recent.push(data);
    if (this.recent.length > this.recentLimit) this.recent.shift();
  }
}

/** The `resume` query value: `<scope>:<seq>:<ts>`, or `<scope>:<seq>` without a proof (protocol's formatResumePositions). */
export function formatResume(positions: Iterable<[string, ResumePosition]>): string {
  const parts: string[] = [];
  for (const [scope, { seq, ts }] of positions) parts.push(ts > 0 ? `${scope}:${seq}:${ts}` : `${scope}:${seq}`);
  return parts.join(',');
}
