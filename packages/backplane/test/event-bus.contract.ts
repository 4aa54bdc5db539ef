import { encodeEventFrame, type IngestEvent, type Scope } from '@hydra/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BusHandler,
  type BusSubscription,
  type EventBus,
  type KeyStore,
  type PublishEvent,
  type PublishedEvent,
  parseRetention,
  type RetentionPolicy,
  type SnapshotStore,
} from '../src/index.js';

/**
 * One backend under test, wired as its Backplane wires it: the bus, the
 * snapshot store that reads what it publishes, and the key store whose
 * revoke() must reach the bus's subscribers.
 */
export interface EventBusFixture {
  bus: EventBus;
  snapshots: SnapshotStore;
  keys: KeyStore;
  /** Releases what the factory opened. */
  close(): Promise<void>;
}

/** Builds a fixture on empty state with the given retention (and bus options). */
export type EventBusFactory = (
  retention: RetentionPolicy,
  options?: { dedupeWindowMs?: number },
) => Promise<EventBusFixture>;

export interface ReceivedEvent {
  scope: Scope;
  seq: number;
  frame: Buffer;
}

/** A BusHandler that records everything it is given. */
export class Recorder implements BusHandler {
  readonly events: ReceivedEvent[] = [];
  readonly revoked: string[] = [];
  subscribed = 0;
  interrupted = 0;
  /** `subscribed` and `interrupted`, in the order they were told. */
  readonly lifecycle: string[] = [];

  onEvent(scope: Scope, seq: number, frame: Buffer): void {
    this.events.push({ scope, seq, frame });
  }
  onKeyRevoked(keyId: string): void {
    this.revoked.push(keyId);
  }
  onSubscribed(): void {
    this.subscribed++;
    this.lifecycle.push('subscribed');
  }
  onInterrupted(): void {
    this.interrupted++;
    this.lifecycle.push('interrupted');
  }
  seqs(scope: Scope): number[] {
    return this.events.filter((e) => e.scope === scope).map((e) => e.seq);
  }
}

/** Polls `condition` until it holds (no fixed sleeps); fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * The EventBus + SnapshotStore contract every backend passes: sequencing,
 * wire frames, snapshot consistency (guarantee 4), retention, control notices,
 * delivery order under concurrency.
 */
export function eventBusContract(name: string, factory: EventBusFactory): void {
  describe(`EventBus contract: ${name}`, () => {
    const open: EventBusFixture[] = [];
    const subscriptions: BusSubscription[] = [];

    async function setup(retention?: string, options?: { dedupeWindowMs?: number }): Promise<EventBusFixture> {
      const fixture = await factory(parseRetention(retention), options);
      open.push(fixture);
      return fixture;
    }

    async function subscribe(bus: EventBus, handler: BusHandler = new Recorder()) {
      const subscription = await bus.subscribe(handler);
      subscriptions.push(subscription);
      return subscription;
    }

    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      await Promise.all(open.splice(0).map((f) => f.close()));
    });

    it('starts each scope at seq 1 and increments scopes independently', async () => {
      const { bus, snapshots } = await setup();
      const before = Date.now();
      const published = await bus.publish([
        { scope: 'signals', data: { n: 1 } },
        { scope: 'signals', data: { n: 2 } },
        { scope: 'aircraft', data: { id: 'a1' } },
        { scope: 'alerts', data: { n: 1 } },
        { scope: 'signals', data: { n: 3 } },
        { scope: 'aircraft', data: { id: 'a2' } },
      ]);
      expect(published.map((p) => [p.scope, p.seq])).toEqual([
        ['signals', 1],
        ['signals', 2],
        ['aircraft', 1],
        ['alerts', 1],
        ['signals', 3],
        ['aircraft', 2],
      ]);
      for (const p of published) {
        expect(Number.isInteger(p.ts)).toBe(true);
        expect(Math.abs(p.ts - before)).toBeLessThan(10_000);
      }
      expect(await snapshots.read('vessels')).toEqual({ scope: 'vessels', seq: 0, seqTs: 0, items: [] });
      expect(await snapshots.read('cyber')).toEqual({ scope: 'cyber', seq: 0, seqTs: 0, items: [] });
      expect((await bus.publish([{ scope: 'signals', data: { n: 4 } }]))[0]?.seq).toBe(4);
      expect(await bus.publish([])).toEqual([]);
    });

    it('sends frames byte-equal to encodeEventFrame, data JSON passed through unchanged', async () => {
      const { bus, snapshots } = await setup();
      const recorder = new Recorder();
      await subscribe(bus, recorder);
      const odd = {
        text: 'héllo ✈ 🚢 — 東京 "quoted" \\ back\nslash \u2028 \u0000',
        nested: { list: [1, 2.5, -0.001, { deep: null }], empty: {} },
        unknownFieldFromANewerFeed: true,
        big: 1e21,
        small: 1.5e-7,
        percent: '%d %s %%',
      };
      const events: IngestEvent[] = [
        { scope: 'cyber', data: odd },
        { scope: 'vessels', data: { id: 'imo-🚢-1', ...odd } },
      ];
      const published = await bus.publish(events);
      await waitFor(() => recorder.events.length === 2, 5_000, 'two frames');
      for (const [i, event] of events.entries()) {
        const p = published[i] as PublishedEvent;
        const received = recorder.events.find((e) => e.scope === event.scope) as ReceivedEvent;
        const dataJson = JSON.stringify(event.data);
        expect(Buffer.isBuffer(received.frame)).toBe(true);
        expect(received.seq).toBe(p.seq);
        expect(received.frame.equals(Buffer.from(encodeEventFrame(event.scope, p.seq, p.ts, dataJson)))).toBe(true);
        expect(JSON.parse(received.frame.toString('utf8'))).toEqual({
          type: event.scope,
          seq: p.seq,
          ts: p.ts,
          data: event.data,
        });
        expect((await snapshots.read(event.scope)).items).toEqual([dataJson]);
      }
    });

    it('delivers each scope in seq order to every subscriber', async () => {
      const { bus } = await setup('signals:max=1000');
      const a = new Recorder();
      const b = new Recorder();
      await subscribe(bus, a);
      await subscribe(bus, b);
      for (let batch = 0; batch < 10; batch++) {
        await bus.publish(range(1, 20).map((n) => ({ scope: 'signals' as const, data: { batch, n } })));
      }
      await waitFor(() => a.events.length === 200 && b.events.length === 200, 5_000, '200 frames each');
      expect(a.seqs('signals')).toEqual(range(1, 200));
      expect(b.seqs('signals')).toEqual(range(1, 200));
    });

    it('fires onSubscribed once before subscribe() resolves; a closed subscription receives nothing', async () => {
      const { bus } = await setup();
      const recorder = new Recorder();
      const subscription = await bus.subscribe(recorder);
      expect(recorder.subscribed).toBe(1);
      const witness = new Recorder();
      await subscribe(bus, witness);
      await subscription.close();
      await subscription.close();
      await bus.publish([{ scope: 'alerts', data: { n: 1 } }]);
      await waitFor(() => witness.events.length === 1, 5_000, 'witness frame');
      expect(recorder.events).toEqual([]);
      expect(recorder.subscribed).toBe(1);
    });

    it('a snapshot at seq S holds exactly the effects of seq ≤ S', async () => {
      const { bus, snapshots } = await setup();
      await bus.publish(range(1, 3).map((n) => ({ scope: 'signals' as const, data: { n } })));
      const first = await snapshots.read('signals');
      expect(first.seq).toBe(3);
      expect(first.items.map((j) => JSON.parse(j).n)).toEqual([1, 2, 3]);
      await bus.publish(range(4, 5).map((n) => ({ scope: 'signals' as const, data: { n } })));
      const second = await snapshots.read('signals');
      expect(second.seq).toBe(5);
      expect(second.items.slice(0, 3)).toEqual(first.items);
      expect(second.items.map((j) => JSON.parse(j).n)).toEqual([1, 2, 3, 4, 5]);
    });

    it('stays consistent when snapshot reads interleave with concurrent publishes', async () => {
      const { bus, snapshots } = await setup('signals:max=10000');
      const ids = ['a', 'b', 'c', 'd'];
      const publishes = range(1, 10).map((batch) =>
        bus.publish(
          range(1, 10).flatMap((n): IngestEvent[] => [
            { scope: 'signals', data: { batch, n } },
            { scope: 'aircraft', data: { id: ids[n % ids.length], batch, n } },
          ]),
        ),
      );
      const reads = range(1, 20).map(async (i) => [
        await snapshots.read(i % 2 ? 'signals' : 'aircraft'),
        await snapshots.read(i % 2 ? 'aircraft' : 'signals'),
      ]);
      const results = await Promise.all(publishes);
      const snapshotsRead = (await Promise.all(reads)).flat();
      // seq → data JSON, per scope, from what publish() reported.
      const bySeq = { signals: new Map<number, string>(), aircraft: new Map<number, string>() };
      for (const [b, batch] of results.entries()) {
        for (const [i, p] of batch.entries()) {
          const n = Math.floor(i / 2) + 1;
          const data = p.scope === 'signals' ? { batch: b + 1, n } : { id: ids[n % ids.length], batch: b + 1, n };
          bySeq[p.scope as 'signals' | 'aircraft'].set(p.seq, JSON.stringify(data));
        }
      }
      for (const snap of snapshotsRead) {
        const map = bySeq[snap.scope as 'signals' | 'aircraft'];
        if (snap.scope === 'signals') {
          expect(snap.items).toEqual(range(1, snap.seq).map((s) => map.get(s)));
        } else {
          const latest = new Map<string, string>();
          for (const s of range(1, snap.seq)) {
            const json = map.get(s) as string;
            latest.set(JSON.parse(json).id, json);
          }
          expect([...snap.items].sort()).toEqual([...latest.values()].sort());
        }
      }
    });

    it('replaces an entity by id (a numeric id names the same entity as its string)', async () => {
      const { bus, snapshots } = await setup();
      await bus.publish([
        { scope: 'aircraft', data: { id: 'a', alt: 1 } },
        { scope: 'aircraft', data: { id: 'b', alt: 1 } },
        { scope: 'aircraft', data: { id: 'a', alt: 2 } },
        { scope: 'aircraft', data: { id: 7, alt: 1 } },
        { scope: 'aircraft', data: { id: '7', alt: 2 } },
      ]);
      const snap = await snapshots.read('aircraft');
      expect(snap.seq).toBe(5);
      const items = snap.items.map((j) => JSON.parse(j));
      expect(items).toHaveLength(3);
      expect(items).toEqual(
        expect.arrayContaining([
          { id: 'a', alt: 2 },
          { id: 'b', alt: 1 },
          { id: '7', alt: 2 },
        ]),
      );
    });

    it('removes an entity from the snapshot once not updated within the TTL', async () => {
      const { bus, snapshots } = await setup('aircraft:ttl=300');
      await bus.publish([{ scope: 'aircraft', data: { id: 'old' } }]);
      expect((await snapshots.read('aircraft')).items).toHaveLength(1);
      await waitFor(async () => (await snapshots.read('aircraft')).items.length === 0, 5_000, 'expiry');
      await bus.publish([{ scope: 'aircraft', data: { id: 'new' } }]);
      const snap = await snapshots.read('aircraft');
      expect(snap.seq).toBe(2);
      expect(snap.items.map((j) => JSON.parse(j).id)).toEqual(['new']);
    });

    it('keeps the last maxItems log events, oldest first', async () => {
      const { bus, snapshots } = await setup('signals:max=10');
      // One batch: most events share a millisecond, so order must not depend on the clock.
      await bus.publish(range(1, 25).map((n) => ({ scope: 'signals' as const, data: { n } })));
      const snap = await snapshots.read('signals');
      expect(snap.seq).toBe(25);
      expect(snap.items.map((j) => JSON.parse(j).n)).toEqual(range(16, 25));
    });

    it('drops log events older than maxAge', async () => {
      const { bus, snapshots } = await setup('signals:age=300');
      await bus.publish([
        { scope: 'signals', data: { n: 1 } },
        { scope: 'signals', data: { n: 2 } },
      ]);
      expect((await snapshots.read('signals')).items).toHaveLength(2);
      await waitFor(async () => (await snapshots.read('signals')).items.length === 0, 5_000, 'log expiry');
      await bus.publish([{ scope: 'signals', data: { n: 3 } }]);
      const snap = await snapshots.read('signals');
      expect(snap.seq).toBe(3);
      expect(snap.items.map((j) => JSON.parse(j).n)).toEqual([3]);
    });

    it("delivers a key store's revocations to every subscriber, by key id", async () => {
      const { bus, keys } = await setup();
      const a = new Recorder();
      const b = new Recorder();
      await subscribe(bus, a);
      await subscribe(bus, b);
      const byId = await keys.create({ scopes: ['signals'] });
      const byKey = await keys.create({ scopes: ['cyber'] });
      await keys.revoke(byId.record.id);
      await keys.revoke(byKey.key);
      await waitFor(() => a.revoked.length === 2 && b.revoked.length === 2, 5_000, 'two revocations');
      expect(a.revoked).toEqual([byId.record.id, byKey.record.id]);
      expect(b.revoked).toEqual([byId.record.id, byKey.record.id]);
      // Nothing is announced for a key that does not exist.
      expect(await keys.revoke('key_unknown')).toBeNull();
      await keys.revoke(byId.record.id);
      await waitFor(() => a.revoked.length === 3, 5_000, 'the repeated revocation');
      expect(a.revoked).toEqual([byId.record.id, byKey.record.id, byId.record.id]);
    });

    it('keeps delivering when a handler throws', async () => {
      const { bus } = await setup();
      const thrower: BusHandler = {
        onEvent: () => {
          throw new Error('handler bug');
        },
        onKeyRevoked: () => {},
        onSubscribed: () => {},
      };
      const recorder = new Recorder();
      await subscribe(bus, thrower);
      await subscribe(bus, recorder);
      await bus.publish([{ scope: 'cyber', data: { n: 1 } }]);
      await bus.publish([{ scope: 'cyber', data: { n: 2 } }]);
      await waitFor(() => recorder.events.length === 2, 5_000, 'frames despite a throwing handler');
      expect(recorder.seqs('cyber')).toEqual([1, 2]);
    });

    it('rejects a batch with an entity event lacking an id, storing nothing of it', async () => {
      const { bus, snapshots } = await setup();
      await expect(
        bus.publish([
          { scope: 'signals', data: { n: 1 } },
          { scope: 'aircraft', data: { alt: 1 } },
        ]),
      ).rejects.toThrow(TypeError);
      expect((await snapshots.read('signals')).seq).toBe(0);
      expect((await snapshots.read('aircraft')).seq).toBe(0);
    });

    it('assigns gapless, duplicate-free seqs under 20 concurrent publishes of 50 events', async () => {
      const { bus } = await setup();
      const recorder = new Recorder();
      await subscribe(bus, recorder);
      const scopes: Scope[] = ['signals', 'aircraft', 'vessels', 'alerts', 'cyber'];
      const results = await Promise.all(
        range(0, 19).map((call) =>
          bus.publish(
            range(0, 49).map((i) => {
              const scope = scopes[(call + i) % scopes.length] as Scope;
              return { scope, data: { id: `${call}-${i}`, call, i } };
            }),
          ),
        ),
      );
      await waitFor(() => recorder.events.length === 1000, 10_000, '1000 frames');
      for (const scope of scopes) {
        const expected = results.flat().filter((p) => p.scope === scope).length;
        expect(recorder.seqs(scope)).toEqual(range(1, expected));
        expect(
          results
            .flat()
            .filter((p) => p.scope === scope)
            .map((p) => p.seq)
            .sort((x, y) => x - y),
        ).toEqual(range(1, expected));
      }
      // Each result matches the frame carrying the same seq.
      for (const [call, batch] of results.entries()) {
        for (const [i, p] of batch.entries()) {
          const frame = recorder.events.find((e) => e.scope === p.scope && e.seq === p.seq)?.frame;
          expect(JSON.parse(frame?.toString('utf8') ?? 'null').data).toMatchObject({ call, i });
        }
      }
    });
    it('publishes a batch of several chunks per scope: each scope in input order, consecutive seqs, snapshot holds all', async () => {
      const { bus, snapshots } = await setup('signals:max=2000');
      const recorder = new Recorder();
      await subscribe(bus, recorder);
      // 700 log and 300 entity events interleaved: several chunks (MAX_CHUNK_EVENTS) of each scope.
      const batch: PublishEvent[] = range(0, 999).map((i) =>
        i % 10 < 7 ? { scope: 'signals', data: { i } } : { scope: 'aircraft', data: { id: `a${i % 50}`, i } },
      );
      const published = await bus.publish(batch);
      const signalIs = batch.filter((e) => e.scope === 'signals').map((e) => e.data['i']);
      expect(published.filter((p) => p.scope === 'signals').map((p) => p.seq)).toEqual(range(1, 700));
      expect(published.filter((p) => p.scope === 'aircraft').map((p) => p.seq)).toEqual(range(1, 300));
      await waitFor(() => recorder.events.length === 1000, 10_000, '1000 frames');
      expect(recorder.seqs('signals')).toEqual(range(1, 700));
      const frames = recorder.events.filter((e) => e.scope === 'signals');
      expect(frames.map((e) => JSON.parse(e.frame.toString('utf8')).data.i)).toEqual(signalIs);
      for (const [j, e] of frames.entries()) {
        const p = published.filter((x) => x.scope === 'signals')[j]!;
        expect(e.frame.toString('utf8')).toBe(
          encodeEventFrame('signals', p.seq, p.ts, JSON.stringify({ i: signalIs[j] })),
        );
      }
      const log = await snapshots.read('signals');
      expect(log.seq).toBe(700);
      expect(log.items.map((j) => JSON.parse(j).i)).toEqual(signalIs);
      const aircraft = await snapshots.read('aircraft');
      expect(aircraft.seq).toBe(300);
      expect(aircraft.items).toHaveLength(
        new Set(batch.filter((e) => e.scope === 'aircraft').map((e) => e.data['id'])).size,
      );
    });

    it('answers a keyed log event published again within the window with its original seq; stores and publishes it once', async () => {
      const { bus, snapshots } = await setup();
      const recorder = new Recorder();
      await subscribe(bus, recorder);
      const first = await bus.publish([
        { scope: 'alerts', data: { id: 'x', n: 1 }, idempotencyKey: 'k1' },
        { scope: 'alerts', data: { n: 2 }, idempotencyKey: 'k2' },
        { scope: 'alerts', data: { id: 'x', n: 3 }, idempotencyKey: 'k1' },
        { scope: 'alerts', data: { n: 4 } },
      ]);
      expect(first.map((p) => [p.seq, p.duplicate ?? false])).toEqual([
        [1, false],
        [2, false],
        [1, true],
        [3, false],
      ]);
      expect(first[2]!.ts).toBe(first[0]!.ts);
      const retry = await bus.publish([
        { scope: 'alerts', data: { n: 2 }, idempotencyKey: 'k2' },
        { scope: 'alerts', data: { n: 5 }, idempotencyKey: 'k5' },
        // Keys are per scope: the same key in another log scope is another event.
        { scope: 'cyber', data: { n: 6 }, idempotencyKey: 'k2' },
      ]);
      expect(retry.map((p) => [p.scope, p.seq, p.duplicate ?? false])).toEqual([
        ['alerts', 2, true],
        ['alerts', 4, false],
        ['cyber', 1, false],
      ]);
      await waitFor(() => recorder.events.length === 5, 5_000, 'five frames');
      expect(recorder.seqs('alerts')).toEqual([1, 2, 3, 4]);
      const snapshot = await snapshots.read('alerts');
      expect(snapshot.seq).toBe(4);
      expect(snapshot.items.map((j) => JSON.parse(j).n)).toEqual([1, 2, 4, 5]);
    });

    it('ignores idempotency keys of entity scopes (idempotent by id: each upsert is published)', async () => {
      const { bus } = await setup();
      const published = await bus.publish([
        { scope: 'aircraft', data: { id: 'a', alt: 1 }, idempotencyKey: 'k' },
        { scope: 'aircraft', data: { id: 'a', alt: 2 }, idempotencyKey: 'k' },
      ]);
      expect(published.map((p) => [p.seq, p.duplicate ?? false])).toEqual([
        [1, false],
        [2, false],
      ]);
    });

    it('forgets an idempotency key once the dedupe window has passed', async () => {
      const windowMs = 300;
      const { bus } = await setup(undefined, { dedupeWindowMs: windowMs });
      const [original] = await bus.publish([{ scope: 'signals', data: { n: 1 }, idempotencyKey: 'k' }]);
      // Each try within the window is a duplicate (no effect); the first try after it is stored.
      let stored: PublishedEvent | undefined;
      await waitFor(
        async () => {
          const [p] = await bus.publish([{ scope: 'signals', data: { n: 1 }, idempotencyKey: 'k' }]);
          if (p!.duplicate) {
            expect(p!.seq).toBe(1);
            return false;
          }
          stored = p;
          return true;
        },
        5_000,
        'the key to expire',
      );
      expect(stored!.seq).toBe(2);
      expect(stored!.ts - original!.ts).toBeGreaterThanOrEqual(windowMs);
    });

    it('rejects a batch with an invalid idempotency key, storing nothing of it', async () => {
      const { bus, snapshots } = await setup();
      await expect(
        bus.publish([
          { scope: 'signals', data: { n: 1 } },
          { scope: 'signals', data: { n: 2 }, idempotencyKey: '' },
        ]),
      ).rejects.toThrow(TypeError);
      expect((await snapshots.read('signals')).seq).toBe(0);
    });
  });
}
