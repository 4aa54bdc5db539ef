import { type Backplane, type BusSubscription, createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import type { IngestEvent } from '@hydra/protocol';
import { startRedis, type TestRedis } from '@hydra/test-support';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SLAB_BYTES } from '../src/frame-arena.js';
import { GatewayMetrics } from '../src/metrics.js';
import { SequenceFollower } from '../src/sequence-follower.js';

/** Bytes of memory `frames` keep alive: each distinct ArrayBuffer behind them, whole. */
function pinnedBytes(frames: readonly Buffer[]): number {
  const backings = new Set(frames.map((f) => f.buffer));
  let bytes = 0;
  for (const b of backings) bytes += b.byteLength;
  return bytes;
}

/**
 * Found by `pnpm bench --keep-up` (issue 16): a frame from the bus is a slice
 * of the socket read it arrived in (ioredis hands out views of its read
 * buffer, up to 64 KiB). A quiet scope's event read among a busy scope's
 * flood shares such a read with hundreds of the busy scope's frames; kept as
 * is in the quiet scope's ring, it kept that whole read alive, so a ring of
 * 4,096 quiet events held up to 256 MiB for a scope of a few hundred KiB,
 * growing with every quiet event for as long as the flood lasted. The ring
 * now keeps copies (frame-arena.ts).
 *
 * Real parts: a Redis, the backplane's bus publishing and subscribing, and
 * the gateway's SequenceFollower following the quiet scope from the bus.
 */
describe('a quiet scope beside a flood', () => {
  let redis: TestRedis;
  let publisher: Backplane;
  let subscriber: Backplane;
  let subscription: BusSubscription | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    publisher = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
    subscriber = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
  });
  afterAll(async () => {
    await subscription?.close();
    await subscriber?.close();
    await publisher?.close();
    await redis?.stop();
  });

  it("keeps only its own frames' bytes, not the reads of the flood they arrived in", async () => {
    const quietEvents = 100;
    let applied = 0;
    let allApplied: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      allApplied = resolve;
    });
    const follower = new SequenceFollower(
      'alerts',
      {
        history: subscriber.history,
        snapshots: { invalidate: () => undefined },
        metrics: new GatewayMetrics(),
        log: pino({ level: 'silent' }),
      },
      {
        applied: () => {
          if (++applied === quietEvents) allApplied();
        },
        restarted: (reason) => {
          throw new Error(`the quiet scope restarted (${reason}): the test's premise is broken`);
        },
      },
    );
    follower.reconcile(0, 0); // Redis is empty: the sequence starts at 0.
    subscription = await subscriber.bus.subscribe({
      onEvent: (scope, seq, frame) => {
        if (scope === 'alerts') follower.onEvent(seq, frame, 0);
      },
      onKeyRevoked: () => undefined,
      onSubscribed: () => undefined,
    });

    // Each batch: 300 aircraft updates (about 60 KiB of frames), then one alert.
    for (let k = 0; k < quietEvents; k++) {
      const batch: IngestEvent[] = Array.from({ length: 300 }, (_, i) => ({
        scope: 'aircraft',
        data: { id: `a${i}`, lat: 10 + (k % 50), lon: 20 + (i % 100), callsign: `FLOOD${i}` },
      }));
      batch.push({ scope: 'alerts', data: { id: `alert-${k}`, headline: `quiet ${k}` } });
      await publisher.bus.publish(batch);
    }
    await done;

    const held: Buffer[] = [];
    follower.forEachAfter(0, (frame) => held.push(frame));
    expect(held).toHaveLength(quietEvents);
    expect(held.map((f) => JSON.parse(f.toString()).data.id)).toEqual(
      Array.from({ length: quietEvents }, (_, k) => `alert-${k}`),
    );
    const heldBytes = held.reduce((n, f) => n + f.length, 0);
    // FrameArena's bound (its frames, a third more, two slabs: 140 KiB here), where 100 reads of the flood
    // held about 5 MB before the fix.
    expect(pinnedBytes(held)).toBeLessThanOrEqual((4 / 3) * heldBytes + 2 * FRAME_SLAB_BYTES);
  });
});
