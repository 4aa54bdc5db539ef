import type { EventData, Scope } from '@hydra/protocol';
import WebSocket from 'ws';
import {
  HydraClient,
  type HydraClientOptions,
  type HydraEvent,
  type HydraSnapshot,
  type HydraStatus,
  type WebSocketConstructor,
} from '../src/index.js';

/** A HydraClient on `ws` that records what it emitted, for a test to await and compare. */
export class RecordingClient {
  readonly client: HydraClient;
  readonly events: HydraEvent[] = [];
  readonly snapshots: HydraSnapshot[] = [];
  readonly statuses: (HydraStatus & { at: number })[] = [];
  readonly resyncs: { scope: Scope; reason: string; seq: number }[] = [];
  private readonly checks = new Set<() => void>();

  constructor(options: Omit<HydraClientOptions, 'WebSocket'> & { WebSocket?: WebSocketConstructor }) {
    this.client = new HydraClient({ WebSocket, ...options });
    this.client.on('event', (e) => this.record(this.events, e));
    this.client.on('snapshot', (s) => this.record(this.snapshots, s));
    this.client.on('resync', (r) => this.record(this.resyncs, r));
    this.client.on('status', (s) => this.record(this.statuses, { ...s, at: performance.now() }));
  }

  private record<T>(list: T[], value: T): void {
    list.push(value);
    for (const check of [...this.checks]) check();
  }

  /** Resolves once `condition` holds, checked on everything the client emits. */
  until<T>(condition: () => T | undefined | false | null, timeoutMs = 15_000, what = 'condition'): Promise<T> {
    const now = condition();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = condition();
        if (value) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        const last = this.statuses.at(-1);
        reject(
          new Error(`timed out waiting for ${what}; ${this.events.length} events, last status ${JSON.stringify(last)}`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.checks.delete(check);
      };
      this.checks.add(check);
    });
  }

  ofState(state: HydraStatus['state']): (HydraStatus & { at: number })[] {
    return this.statuses.filter((s) => s.state === state);
  }

  seqs(scope: Scope): number[] {
    return this.events.filter((e) => e.type === scope).map((e) => e.seq);
  }

  lastSeq(scope: Scope): number {
    return this.client.positions().get(scope)?.seq ?? -1;
  }
}

/** What the test published, seq → data per scope (Redis starts empty: seqs 1, 2, …). */
export class Log {
  private readonly byScope = new Map<Scope, EventData[]>();

  record(scope: Scope, seq: number, data: EventData): void {
    let list = this.byScope.get(scope);
    if (!list) {
      list = [];
      this.byScope.set(scope, list);
    }
    list[seq - 1] = data;
  }

  last(scope: Scope): number {
    return this.byScope.get(scope)?.length ?? 0;
  }

  data(scope: Scope, seq: number): EventData | undefined {
    return this.byScope.get(scope)?.[seq - 1];
  }

  /** The entity state at `seq` rebuilt from the log: the last upsert per id (no removals are published). */
  entitiesAt(scope: Scope, seq: number): Map<string, EventData> {
    const state = new Map<string, EventData>();
    for (const data of (this.byScope.get(scope) ?? []).slice(0, seq)) state.set(String(data.id), data);
    return state;
  }
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Sorted JSON of a map's entries: equal state, whatever the insertion order. */
export const stateOf = (map: ReadonlyMap<string, EventData>): string[] =>
  [...map].map(([id, data]) => `${id}=${JSON.stringify(data)}`).sort();
