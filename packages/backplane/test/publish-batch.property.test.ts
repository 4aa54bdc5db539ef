import type { Scope } from '@hydra/protocol';
import { startRedis, type TestRedis } from '@hydra/test-support';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PublishEvent, parseRetention, RedisBackplane, redisKeys, type ScopeSnapshot } from '../src/index.js';
import { Recorder, waitFor } from './event-bus.contract.js';

/**
 * Two publishers (two backplanes, two connections: what two publisher
 * processes are to Redis) publish random batches over entity and log scopes
 * concurrently, with random deletes, repeated entity ids and repeated
 * idempotency keys, while a reader takes snapshots. Afterwards, per scope:
 * - every snapshot read at seq S equals the state folded from the history
 *   (the log) up to S;
 * - the history holds seqs 1..n, each entry byte for byte the frame the
 *   subscriber received;
 * - each idempotency key was stored once, and every publisher that sent it
 *   was answered with that one seq.
 */

const SCOPES_UNDER_TEST: Scope[] = ['aircraft', 'vessels', 'alerts', 'signals'];
const ENTITY = new Set<Scope>(['aircraft', 'vessels']);
/**
 * Nothing is trimmed or expired during a run, so the history is the whole
 * log, except that the `signals` snapshot holds only the last 7 events (most
 * of a chunk never enters its recent log: publish-batch.lua adds only a
 * chunk's last maxItems).
 */
const LOG_MAX: Partial<Record<Scope, number>> = { alerts: 10_000, signals: 7 };
const RETENTION = parseRetention(
  `aircraft:ttl=3600000,vessels:ttl=3600000,alerts:max=${LOG_MAX.alerts},signals:max=${LOG_MAX.signals},` +
    SCOPES_UNDER_TEST.map((s) => `${s}:history=10000`).join(','),
);

const item: fc.Arbitrary<PublishEvent> = fc.oneof(
  fc
    .record({
      scope: fc.constantFrom<Scope>('aircraft', 'vessels'),
      op: fc.constantFrom<'upsert' | 'delete'>('upsert', 'upsert', 'upsert', 'delete'),
      id: fc.integer({ min: 0, max: 7 }),
      v: fc.integer(),
    })
    .map(({ scope, op, id, v }): PublishEvent => ({ scope, op, data: { id: `e${id}`, v } })),
  fc
    .record({
      scope: fc.constantFrom<Scope>('alerts', 'signals'),
      key: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
      v: fc.integer(),
    })
    .map(
      ({ scope, key, v }): PublishEvent => ({
        scope,
        data: { v },
        ...(key === undefined ? {} : { idempotencyKey: `k${key}` }),
      }),
    ),
);
/** Batches up to 600 items: several chunks of one scope in one call. */
const batch = fc.oneof(
  fc.array(item, { minLength: 1, maxLength: 20 }),
  fc.array(item, { minLength: 300, maxLength: 600 }),
);
const publisherRun = fc.array(batch, { minLength: 1, maxLength: 6 });

let testRedis: TestRedis;
let admin: Redis;

beforeAll(async () => {
  testRedis = await startRedis();
  admin = testRedis.client();
});

afterAll(async () => {
  admin?.disconnect();
  await testRedis?.stop();
});

/** The state a snapshot at `seq` must hold, folded from the history frames with seq ≤ `seq`. */
function fold(scope: Scope, frames: readonly string[], seq: number): string[] {
  const parsed = frames
    .map((f) => JSON.parse(f) as { seq: number; data: Record<string, unknown> })
    .filter((f) => f.seq <= seq);
  if (!ENTITY.has(scope)) return parsed.map((f) => JSON.stringify(f.data)).slice(-LOG_MAX[scope]!);
  const state = new Map<string, string>();
  for (const f of parsed) {
    const id = String(f.data['id']);
    if (f.data['removed'] === true) state.delete(id);
    else state.set(id, JSON.stringify(f.data));
  }
  return [...state.values()].sort();
}

describe('publish-batch.lua under two concurrent publishers (property)', () => {
  it('snapshot at S = fold of the log up to S; history entry = published frame; each key stored once', async () => {
    await fc.assert(
      fc.asyncProperty(publisherRun, publisherRun, async (runA, runB) => {
        await admin.flushall();
        const a = new RedisBackplane({ url: testRedis.url, retention: RETENTION });
        const b = new RedisBackplane({ url: testRedis.url, retention: RETENTION });
        const recorder = new Recorder();
        const subscription = await a.bus.subscribe(recorder);
        try {
          const snapshots: ScopeSnapshot[] = [];
          let publishing = true;
          const reader = (async () => {
            while (publishing) {
              for (const scope of SCOPES_UNDER_TEST) snapshots.push(await b.snapshots.read(scope));
            }
          })();
          const publish = async (bus: RedisBackplane['bus'], run: PublishEvent[][]) => {
            const answers: Array<{ event: PublishEvent; seq: number; duplicate: boolean }> = [];
            for (const events of run) {
              const published = await bus.publish(events);
              published.forEach((p, i) => {
                answers.push({ event: events[i]!, seq: p.seq, duplicate: !!p.duplicate });
              });
            }
            return answers;
          };
          const answers = (await Promise.all([publish(a.bus, runA), publish(b.bus, runB)])).flat();
          publishing = false;
          await reader;
          for (const scope of SCOPES_UNDER_TEST) snapshots.push(await b.snapshots.read(scope));

          const stored = answers.filter((x) => x.seq > 0 && !x.duplicate).length;
          await waitFor(() => recorder.events.length === stored, 10_000, `${stored} frames`);

          for (const scope of SCOPES_UNDER_TEST) {
            const entries = (await admin.xrange(redisKeys.scopeHistory(scope), '-', '+')) as Array<[string, string[]]>;
            const frames = entries.map(([, fields]) => fields[1]!);
            const lastSeq = Number((await admin.get(redisKeys.scopeSeq(scope))) ?? 0);
            // The log is gapless, and each entry is the very frame subscribers got.
            expect(entries.map(([id]) => id)).toEqual(Array.from({ length: lastSeq }, (_, i) => `${i + 1}-0`));
            const received = recorder.events.filter((e) => e.scope === scope);
            expect(received.map((e) => e.frame.toString('utf8'))).toEqual(frames);
            for (const snapshot of snapshots.filter((s) => s.scope === scope)) {
              const items = ENTITY.has(scope) ? [...snapshot.items].sort() : snapshot.items;
              expect(items).toEqual(fold(scope, frames, snapshot.seq));
            }
            if (ENTITY.has(scope)) continue;
            // Each idempotency key: one stored event, and every answer for it names that event's seq.
            const byKey = new Map<string, Set<number>>();
            for (const x of answers.filter((y) => y.event.scope === scope && y.event.idempotencyKey !== undefined)) {
              const seqs = byKey.get(x.event.idempotencyKey!) ?? new Set();
              seqs.add(x.seq);
              byKey.set(x.event.idempotencyKey!, seqs);
            }
            for (const seqs of byKey.values()) expect(seqs.size).toBe(1);
            const keyless = answers.filter(
              (x) => x.event.scope === scope && x.event.idempotencyKey === undefined,
            ).length;
            expect(lastSeq).toBe(byKey.size + keyless);
          }
        } finally {
          await subscription.close();
          await Promise.all([a.close(), b.close()]);
        }
      }),
      { numRuns: 12 },
    );
  }, 240_000);
});
