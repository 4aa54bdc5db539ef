import { SCOPE_KIND, SCOPES, type Scope } from '@hydra/protocol';
import { INGEST_TOKEN } from './fault-helpers.js';

/** One event the load sent: its scope, its data as JSON, and the seq ingest acknowledged it with (200 only). */
export interface SentEvent {
  readonly scope: Scope;
  readonly json: string;
  ackedSeq?: number;
}

/** A batch ingest answered 200: when the request went out and came back, its size, first `data.n`, last seq per scope. */
export interface AcknowledgedBatch {
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly events: number;
  readonly firstN: number;
  readonly seqs: ReadonlyMap<Scope, number>;
}

export interface IngestLoadOptions {
  /** Events per second over all scopes, round robin (default 1,200). */
  ratePerSecond?: number;
  /** The loop stops by itself after this long (a bound, not the plan: the test calls stop()). */
  maxMs: number;
  /** Entity events cycle over this many ids per scope, so snapshots stay small (default 50). */
  entityIds?: number;
}

/** Batches go out every TICK_MS (one request in flight); a late one carries what is due since the last. */
const TICK_MS = 50;
const MAX_BATCH_EVENTS = 600;
/** A request the publisher has not answered by then counts as failed (its events may be stored). */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A paced stream of events through the publisher's ingest API
 * (`POST /v1/events`), over every scope, each event unique (`data.n`), with
 * the log of what was acknowledged: every event sent is kept with the seq
 * its 200 named; an event of a batch answered 503 or not at all has none
 * (it may still be stored: ingest promises nothing for it).
 */
export class IngestLoad {
  /** Every event sent, by its `data.n`. */
  readonly sent = new Map<number, SentEvent>();
  readonly acknowledgedBatches: AcknowledgedBatch[] = [];
  /** Events in batches answered 200, 503, and anything else (another status, no answer). */
  readonly counts = { acknowledged: 0, refused503: 0, failed: 0 };
  /** Batches answered so far, whatever the answer (or none, after REQUEST_TIMEOUT_MS). */
  answeredBatches = 0;
  readonly #url: string;
  readonly #rate: number;
  readonly #maxMs: number;
  readonly #entityIds: number;
  readonly #listeners = new Set<() => void>();
  #next = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #startedAt = 0;

  constructor(ingestUrl: string, options: IngestLoadOptions) {
    this.#url = ingestUrl;
    this.#rate = options.ratePerSecond ?? 1200;
    this.#maxMs = options.maxMs;
    this.#entityIds = options.entityIds ?? 50;
  }

  start(): void {
    this.#running = true;
    this.#startedAt = performance.now();
    this.#loop = this.#run();
  }

  /** Stops sending and resolves once the request in flight is answered. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /**
   * The stream's pace so far, in acknowledged events per second: a batch
   * carries what fell due since the one before, so the batches after the
   * first, over the time between the first's sending and the last's.
   */
  acknowledgedRate(): number {
    const batches = this.acknowledgedBatches;
    if (batches.length < 2) return 0;
    const events = batches.slice(1).reduce((sum, b) => sum + b.events, 0);
    return (events * 1000) / ((batches.at(-1) as AcknowledgedBatch).sentAt - (batches[0] as AcknowledgedBatch).sentAt);
  }

  /** Resolves with `condition`'s value once it holds; it is checked after every answered batch. */
  until<T>(condition: () => T | false | undefined, timeoutMs: number, what: string): Promise<T> {
    const now = condition();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = condition();
        if (!value) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${JSON.stringify(this.counts)})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
    });
  }

  /** The first batch acknowledged among those sent at or after `time` (performance.now()). */
  firstAcknowledgedSentAfter(time: number): AcknowledgedBatch | undefined {
    return this.acknowledgedBatches.find((b) => b.sentAt >= time);
  }

  async #run(): Promise<void> {
    let last = performance.now();
    while (this.#running && performance.now() - this.#startedAt < this.#maxMs) {
      const sentAt = performance.now();
      const due = Math.round(((sentAt - last) * this.#rate) / 1000);
      last = sentAt;
      await this.#post(this.#batch(Math.min(MAX_BATCH_EVENTS, Math.max(SCOPES.length, due))), sentAt);
      this.answeredBatches++;
      for (const notify of [...this.#listeners]) notify();
      const idle = TICK_MS - (performance.now() - sentAt);
      if (idle > 0) await new Promise((r) => setTimeout(r, idle));
    }
  }

  #batch(size: number): { n: number; scope: Scope; data: Record<string, unknown> }[] {
    const batch = [];
    for (let i = 0; i < size; i++) {
      const n = this.#next++;
      const scope = SCOPES[n % SCOPES.length] as Scope;
      const data = SCOPE_KIND[scope] === 'entity' ? { id: `${scope}-${n % this.#entityIds}`, n } : { n };
      this.sent.set(n, { scope, json: JSON.stringify(data) });
      batch.push({ n, scope, data });
    }
    return batch;
  }

  async #post(batch: { n: number; scope: Scope; data: Record<string, unknown> }[], sentAt: number): Promise<void> {
    let status = 0;
    let body: { events?: { index: number; seq: number }[] } = {};
    try {
      const res = await fetch(this.#url, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(batch.map(({ scope, data }) => ({ scope, data }))),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = res.status;
      body = (await res.json().catch(() => ({}))) as typeof body;
    } catch {
      status = 0;
    }
    if (status !== 200) {
      if (status === 503) this.counts.refused503 += batch.length;
      else this.counts.failed += batch.length;
      return;
    }
    const seqs = new Map<Scope, number>();
    for (const { index, seq } of body.events ?? []) {
      const { n, scope } = batch[index]!;
      (this.sent.get(n) as SentEvent).ackedSeq = seq;
      seqs.set(scope, Math.max(seqs.get(scope) ?? 0, seq));
    }
    this.counts.acknowledged += batch.length;
    this.acknowledgedBatches.push({
      sentAt,
      answeredAt: performance.now(),
      events: batch.length,
      firstN: batch[0]!.n,
      seqs,
    });
  }
}
