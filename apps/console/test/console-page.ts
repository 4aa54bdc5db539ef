import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type ServiceProcess, type StreamClient, spawnService } from '@hydra/test-support';
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

/** Where the page draws an entity's marker (`id` omitted: the first one with a position), in canvas CSS px. */
export function locate(page: Page, scope: string, id?: string): Promise<{ id: string; x: number; y: number } | null> {
  return page.evaluate(
    ([s, i]) =>
      (
        window as unknown as {
          hydraConsole: { locate: (s: string, i?: string) => { id: string; x: number; y: number } | null };
        }
      ).hydraConsole.locate(s as string, i),
    [scope, id] as const,
  );
}

/** Hovers, then clicks the marker at `at` (canvas CSS px): the tooltip and the details panel show the entity. */
export async function pointAt(page: Page, at: { x: number; y: number }): Promise<void> {
  const box = (await page.locator('#map').boundingBox())!;
  await page.mouse.move(box.x + at.x, box.y + at.y);
  await page.mouse.click(box.x + at.x, box.y + at.y);
}

/**
 * The embedded process (`pnpm start`'s dist) on loopback and free ports,
 * once its banner names the console; `env` adds to or overrides that.
 */
export async function startEmbedded(env: Record<string, string> = {}): Promise<{
  process: ServiceProcess;
  consoleUrl: string;
  streamUrl: string;
  key: string;
}> {
  const service = spawnService('apps/embedded/dist/main.js', {
    HYDRA_HOST: '127.0.0.1',
    HYDRA_PORT: '0',
    HYDRA_ADMIN_PORT: '0',
    HYDRA_PUBLISHER_PORT: '0',
    HYDRA_LOG_LEVEL: 'warn',
    ...env,
  });
  try {
    const line = await service.waitForLog((l) => /^\s*Console\s+http/.test(String(l.msg)), 30_000);
    const consoleUrl = /(http:\/\/\S+)/.exec(String(line.msg))![1]!;
    const key = /#key=(\S+)/.exec(consoleUrl)![1]!;
    const streamUrl = consoleUrl.replace(/^http/, 'ws').replace(/\/#key=.*$/, '/v1/stream');
    return { process: service, consoleUrl, streamUrl, key };
  } catch (err) {
    await service.stop();
    throw err;
  }
}

/**
 * CPU time (user + system, ms) used so far by the descendants of process
 * `root` (Linux /proc), leaving out the process trees rooted at `exclude`:
 * the test's browser is its child, with the renderer, GPU and network
 * processes under it.
 */
export function descendantsCpuMs(root: number, exclude: readonly number[] = []): number {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The fields after the command (which may hold spaces, in parentheses): state ppid … utime(14) stime(15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      cpu.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  const counted = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = parent.get(p), hops++) {
      if (exclude.includes(p)) return false;
      if (p === root) return pid !== root;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, t] of cpu) if (counted(pid)) ticks += t;
  return (ticks * 1000) / CLOCK_TICKS_PER_SEC;
}

/** CPU time (ms) of process `pid` and its descendants. */
export const processTreeCpuMs = (pid: number): number => descendantsCpuMs(pid) + ownCpuMs(pid);

function ownCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SEC;
  } catch {
    return 0;
  }
}

/** USER_HZ: /proc reports CPU times in these ticks (100 on Linux on every common architecture). */
const CLOCK_TICKS_PER_SEC = 100;
