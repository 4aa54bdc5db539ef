import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type StreamClient } from '@hydra/test-support';
import type { Page } from 'playwright-core';

export const SCOPES = ['aircraft', 'vessels', 'alerts', 'cyber', 'signals'] as const;
export type Scope = (typeof SCOPES)[number];
const ENTITY: readonly string[] = ['aircraft', 'vessels'];

/** Screenshots and measurements of the console tests (git-ignored; CI keeps them as artifacts). */
export function artifactsDir(): string {
  const dir = join(REPO_ROOT, 'test-artifacts', 'console');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The console of a gateway on loopback, with the key in the fragment. */
export const consoleUrl = (port: number, key: string): string => `http://127.0.0.1:${port}/#key=${key}`;

export interface ScopeRow {
  count: number;
  /** -1 before any snapshot. */
  seq: number;
}

/** Every scope's count and last seq as the page shows them, read in one task (so from one render). */
export function readScopes(page: Page): Promise<Record<Scope, ScopeRow>> {
  return page.evaluate((scopes) => {
    const text = (id: string) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
    const out: Record<string, { count: number; seq: number }> = {};
    for (const scope of scopes) {
      const seq = text(`seq-${scope}`);
      out[scope] = { count: Number(text(`count-${scope}`)), seq: /^\d+$/.test(seq) ? Number(seq) : -1 };
    }
    return out;
  }, SCOPES) as Promise<Record<Scope, ScopeRow>>;
}

export const testIdText = (page: Page, id: string): Promise<string> =>
  page.locator(`[data-testid="${id}"]`).innerText();

/** Waits until the SDK's state shown by the page is `state`. */
export function waitForState(page: Page, state: string, timeout = 15_000): Promise<unknown> {
  return page.waitForFunction(
    (s) => document.querySelector('[data-testid="status"]')?.getAttribute('data-state') === s,
    state,
    { timeout },
  );
}

/** Waits until the page shows at least `n` markers drawn on the map. */
export function waitForMarkers(page: Page, n: number, timeout = 15_000): Promise<unknown> {
  return page.waitForFunction(
    (min) => Number(document.querySelector('[data-testid="markers"]')?.textContent) >= min,
    n,
    { timeout },
  );
}

/**
 * What a plain WebSocket client (no SDK) holds per scope, as the console
 * counts it: entities by id (upserts and removals applied), or for a log
 * scope the items of its snapshot plus one per event; and that count after
 * each seq, so a test compares with the page at the seq the page shows.
 */
export class PlainCounts {
  /** Each scope's first complete snapshot: its seq and item count. */
  readonly snapshots = new Map<string, { seq: number; count: number }>();
  private readonly ids = new Map<string, Set<string>>();
  private readonly items = new Map<string, number>();
  private readonly parts = new Map<string, unknown[]>();
  private readonly at = new Map<string, Map<number, number>>();
  private readonly last = new Map<string, number>();
  private read = 0;

  constructor(readonly client: StreamClient) {}

  /** Takes in the messages received since the last call. */
  update(): void {
    const messages = this.client.messages;
    for (; this.read < messages.length; this.read++) {
      const m = messages[this.read]!;
      if (m.type === 'snapshot') {
        const d = m.data as { scope: string; seq: number; part?: number; complete?: boolean; items: unknown[] };
        const parts = (d.part ?? 1) === 1 ? [] : (this.parts.get(d.scope) ?? []);
        parts.push(...d.items);
        this.parts.set(d.scope, parts);
        if (d.complete === false) continue;
        if (ENTITY.includes(d.scope)) {
          this.ids.set(d.scope, new Set(parts.map((i) => String((i as { id: unknown }).id))));
        } else this.items.set(d.scope, parts.length);
        if (!this.snapshots.has(d.scope)) this.snapshots.set(d.scope, { seq: d.seq, count: parts.length });
        this.record(d.scope, d.seq);
      } else if (typeof m.seq === 'number') {
        const data = m.data as { id?: unknown; removed?: boolean };
        if (ENTITY.includes(m.type)) {
          const ids = this.ids.get(m.type) ?? new Set();
          if (data.removed === true) ids.delete(String(data.id));
          else ids.add(String(data.id));
          this.ids.set(m.type, ids);
        } else this.items.set(m.type, (this.items.get(m.type) ?? 0) + 1);
        this.record(m.type, m.seq);
      }
    }
  }

  /** The count after `seq` (undefined: not reached yet, or before this client's snapshot). */
  countAt(scope: string, seq: number): number | undefined {
    this.update();
    return this.at.get(scope)?.get(seq);
  }

  lastSeq(scope: string): number {
    this.update();
    return this.last.get(scope) ?? -1;
  }

  private record(scope: string, seq: number): void {
    const count = ENTITY.includes(scope) ? (this.ids.get(scope)?.size ?? 0) : (this.items.get(scope) ?? 0);
    let bySeq = this.at.get(scope);
    if (!bySeq) {
      bySeq = new Map();
      this.at.set(scope, bySeq);
    }
    bySeq.set(seq, count);
    this.last.set(scope, seq);
  }
}
