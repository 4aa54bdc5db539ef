import { DEFAULT_RETENTION, type EventPublisher, MemoryBackplane, type PublishedEvent } from '@hydra/backplane';
import type { IngestEvent } from '@hydra/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDemoFeed, DemoWorld } from '../src/index.js';

const T0 = 1_760_000_000_000;
const SMALL = { seed: 5, aircraft: 20, vessels: 10 } as const;

/** A publisher that records batches and answers like a backplane. */
function recordingPublisher(): EventPublisher & { batches: IngestEvent[][] } {
  const batches: IngestEvent[][] = [];
  let seq = 0;
  return {
    batches,
    publish: async (events) => {
      batches.push([...events]);
      return events.map((e): PublishedEvent => ({ scope: e.scope, seq: ++seq, ts: T0 }));
    },
  };
}

describe('createDemoFeed', () => {
  let clock: number;
  const now = () => clock;

  beforeEach(() => {
    vi.useFakeTimers();
    clock = T0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Advances the wall clock and the fake timers together. */
  async function elapse(ms: number, stepMs = 100): Promise<void> {
    for (let t = 0; t < ms; t += stepMs) {
      clock += stepMs;
      await vi.advanceTimersByTimeAsync(stepMs);
    }
  }

  it('publishes what the world generates, in order, following the wall clock', async () => {
    const feed = createDemoFeed({ ...SMALL, now });
    const publisher = recordingPublisher();
    feed.start(publisher, { intervalMs: 100 });
    await elapse(5_000);
    await feed.stop();

    const published = publisher.batches.flat();
    const expected = new DemoWorld({ ...SMALL, startTs: T0 }).tick(5_000);
    expect(published).toEqual(expected);
    expect(feed.world.now).toBe(T0 + 5_000);
    expect(feed.stats()).toEqual({
      batches: publisher.batches.length,
      published: expected.length,
      publishErrors: 0,
      dropped: 0,
    });
  });

  it('counts and reports publish failures, and keeps running', async () => {
    const onError = vi.fn();
    let calls = 0;
    const publisher: EventPublisher = {
      publish: async (events) => {
        calls++;
        if (calls <= 3) throw new Error('backplane unreachable');
        return events.map((e) => ({ scope: e.scope, seq: 1, ts: T0 }));
      },
    };
    const feed = createDemoFeed({ ...SMALL, now });
    feed.start(publisher, { intervalMs: 200, onError });
    await elapse(3_000, 200);
    await feed.stop();

    const stats = feed.stats();
    expect(stats.publishErrors).toBe(3);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.published).toBeGreaterThan(0);
    expect(onError).toHaveBeenCalledTimes(3);
    expect(onError.mock.calls[0]![0]).toBeInstanceOf(Error);
    expect(onError.mock.calls[0]![1]).toEqual({ events: expect.any(Number) });
  });

  it('survives a publisher that throws synchronously and an onError that throws', async () => {
    const publisher: EventPublisher = {
      publish: () => {
        throw new Error('sync failure');
      },
    };
    const feed = createDemoFeed({ ...SMALL, now });
    feed.start(publisher, {
      intervalMs: 100,
      onError: () => {
        throw new Error('logger broke');
      },
    });
    await elapse(1_000);
    await feed.stop();
    expect(feed.stats().publishErrors).toBeGreaterThan(3);
  });

  it('keeps one batch in flight, drops what a slow publisher cannot take, and stop() waits for it', async () => {
    let release!: () => void;
    const publisher: EventPublisher = {
      publish: (events) =>
        new Promise((resolve) => {
          release = () => resolve(events.map((e) => ({ scope: e.scope, seq: 1, ts: T0 })));
        }),
    };
    const feed = createDemoFeed({ ...SMALL, now });
    feed.start(publisher, { intervalMs: 100 });
    await elapse(2_000);
    expect(feed.stats().batches).toBe(1);
    expect(feed.stats().dropped).toBeGreaterThan(0);

    let stopped = false;
    const stopping = feed.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    expect(feed.stats().published).toBeGreaterThan(0);
    // Idempotent.
    await feed.stop();
  });

  it('after a stall publishes at most maxBatchSpanMs of world time', async () => {
    const feed = createDemoFeed({ ...SMALL, now });
    const publisher = recordingPublisher();
    feed.start(publisher, { intervalMs: 100, maxBatchSpanMs: 2_000 });
    clock += 60_000; // the process was suspended for a minute
    await vi.advanceTimersByTimeAsync(100);
    await feed.stop();
    expect(publisher.batches).toHaveLength(1);
    const seen = publisher.batches[0]!.filter((e) => e.scope === 'aircraft').map((e) => e.data['lastSeenTs'] as number);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(clock - 2_000);
    expect(feed.world.now).toBe(clock);
  });

  it('refuses a second start and bad options', () => {
    const feed = createDemoFeed({ ...SMALL, now });
    expect(() => feed.start(recordingPublisher(), { intervalMs: 0 })).toThrow(/intervalMs/);
    const other = createDemoFeed({ ...SMALL, now });
    other.start(recordingPublisher());
    expect(() => other.start(recordingPublisher())).toThrow(/already started/);
    return other.stop();
  });
});

describe('demo feed on the in-memory backplane', () => {
  it('fills every scope with events the backplane accepts', async () => {
    const backplane = new MemoryBackplane({ retention: DEFAULT_RETENTION });
    const feed = createDemoFeed({ seed: 'it', aircraft: 30, vessels: 20 });
    const errors: unknown[] = [];
    feed.start(backplane.bus, { intervalMs: 50, onError: (err) => errors.push(err) });
    await vi.waitFor(
      async () => {
        for (const scope of ['aircraft', 'vessels', 'signals', 'alerts', 'cyber'] as const) {
          const snapshot = await backplane.snapshots.read(scope);
          expect(snapshot.items.length, scope).toBeGreaterThan(0);
        }
      },
      { timeout: 5_000, interval: 50 },
    );
    await feed.stop();
    await backplane.close();
    expect(errors).toEqual([]);
    expect(feed.stats().published).toBeGreaterThan(30);
  });
});
