import type { SnapshotStore } from '@hydra/backplane';
import type { Scope } from '@hydra/protocol';
import type { GatewayMetrics } from './metrics.js';
import { encodeSnapshotChunks } from './snapshot-chunks.js';

/** A scope snapshot serialised once, ready to send to any number of clients. */
export interface SnapshotFrame {
  readonly seq: number;
  /** The ts of event `seq` (ScopeSnapshot.seqTs): 0 when unknown. */
  readonly seqTs: number;
  /** The `snapshot` messages of this version, in order (one or more parts). */
  readonly frames: readonly Buffer[];
  readonly itemCount: number;
  /** The items (JSON), for the bbox clients' filtered snapshots (region-snapshot-index.ts). */
  readonly items: readonly string[];
  /** monotonic ms (performance.now) when the read completed */
  readonly readAt: number;
}

/**
 * Coalesces snapshot reads of one scope: concurrent requests share one
 * backplane read, and a completed read is reused while it is still the
 * current version (no newer event received) and younger than `maxAgeMs`. A
 * connect storm therefore costs one read and one serialisation per scope per
 * snapshot version per gateway, not one per client. `maxAgeMs` bounds how
 * late an entity expiry (which changes state without an event) shows.
 *
 * Guarantees across `invalidate()` (the scope's sequence restarted, e.g. a
 * Redis restarted empty): no read started before it is shared with a caller
 * after it, nor stored in the cache after it. The cache holds the last read
 * completed, whatever its seq (a restarted sequence may be lower), so a
 * snapshot ahead of what the stream has delivered is reused for at most
 * `maxAgeMs`, never kept as the reference for later ones.
 */
export class SnapshotCache {
  private cached: SnapshotFrame | null = null;
  private inflight: Promise<SnapshotFrame> | null = null;
  /** Bumped by invalidate(): a read of an older generation is neither shared nor stored. */
  private generation = 0;

  constructor(
    private readonly scope: Scope,
    private readonly store: SnapshotStore,
    private readonly metrics: GatewayMetrics,
    private readonly maxAgeMs: number,
    private readonly chunkBytes: number,
  ) {}

  /** The cached snapshot if it is at `currentSeq` or later and young enough, else null. */
  fresh(currentSeq: number): SnapshotFrame | null {
    const c = this.cached;
    return c !== null && c.seq >= currentSeq && performance.now() - c.readAt < this.maxAgeMs ? c : null;
  }

  /** A snapshot at `currentSeq` or later: the cached one, or a (shared) new read. */
  get(currentSeq: number): Promise<SnapshotFrame> {
    const c = this.fresh(currentSeq);
    if (c) return Promise.resolve(c);
    return this.read();
  }

  /** Always reads the backplane (joining a read of this generation already in flight). */
  read(): Promise<SnapshotFrame> {
    if (this.inflight) return this.inflight;
    const generation = this.generation;
    const started = performance.now();
    this.metrics.snapshotReads.inc({ scope: this.scope });
    const run: Promise<SnapshotFrame> = this.metrics
      .timeRedis('snapshot', () => this.store.read(this.scope))
      .then((snap) => {
        const frames = encodeSnapshotChunks(this.scope, snap.seq, snap.seqTs, snap.items, this.chunkBytes);
        const readAt = performance.now();
        const result: SnapshotFrame = {
          seq: snap.seq,
          seqTs: snap.seqTs,
          frames,
          itemCount: snap.items.length,
          items: snap.items,
          readAt,
        };
        // Reads of one generation run one at a time, so the last one completed is the newest.
        if (generation === this.generation) this.cached = result;
        this.metrics.snapshotDuration.observe({ scope: this.scope }, (readAt - started) / 1000);
        this.metrics.snapshotBytes.observe(
          { scope: this.scope },
          frames.reduce((n, f) => n + f.length, 0),
        );
        return result;
      })
      .finally(() => {
        if (this.inflight === run) this.inflight = null;
      });
    this.inflight = run;
    return run;
  }

  /** Forgets the cached snapshot and detaches any read in flight (see the class guarantees). */
  invalidate(): void {
    this.generation++;
    this.cached = null;
    this.inflight = null;
  }
}
