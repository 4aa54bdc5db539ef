import { encodeEventFrame, type Scope } from '@hydra/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Backplane,
  type BusSubscription,
  EXPIRE_BATCH_LIMIT,
  ExpirySweeper,
  encodeRemovalData,
  parseRetention,
} from '../src/index.js';
import type { BackplaneFactory, BackplaneFixture } from './backplane-fixture.js';
import { type ReceivedEvent, Recorder, waitFor } from './event-bus.contract.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const json = (e: ReceivedEvent) => JSON.parse(e.frame.toString('utf8'));
const isRemoval = (e: ReceivedEvent) => json(e).data.removed === true;
const snapshotIds = async (backplane: Backplane, scope: Scope) =>
  (await backplane.snapshots.read(scope)).items.map((j) => JSON.parse(j).id).sort();

/**
 * The entity lifecycle contract every backend passes: deletes through the
 * bus, expiry announced by the sweep exactly once across concurrent sweepers,
 * removals as ordinary events (own seq, live, in history), snapshots without
 * removed or expired entities.
 */
export function entityLifecycleContract(name: string, factory: BackplaneFactory): void {
  describe(`Entity lifecycle contract: ${name}`, () => {
    const open: BackplaneFixture[] = [];
    const subscriptions: BusSubscription[] = [];
    const sweepers: ExpirySweeper[] = [];

    async function setup(retention?: string): Promise<BackplaneFixture> {
      const fixture = await factory(parseRetention(retention));
      open.push(fixture);
      return fixture;
    }

    async function record(backplane: Backplane): Promise<Recorder> {
      const recorder = new Recorder();
      subscriptions.push(await backplane.bus.subscribe(recorder));
      return recorder;
    }

    afterEach(async () => {
      await Promise.all(sweepers.splice(0).map((s) => s.stop()));
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      await Promise.all(open.splice(0).map((f) => f.close()));
    });

    it('publishes a delete as one removal event, and the entity leaves the snapshot', async () => {
      const { backplane } = await setup();
      const recorder = await record(backplane);
      await backplane.bus.publish([
        { scope: 'aircraft', data: { id: '4ca2d1', alt: 1 } },
        { scope: 'aircraft', data: { id: 'other' } },
      ]);
      const [deleted] = await backplane.bus.publish([{ scope: 'aircraft', op: 'delete', data: { id: '4ca2d1' } }]);
      expect(deleted).toEqual({ scope: 'aircraft', seq: 3, ts: expect.any(Number) });
      await waitFor(() => recorder.events.length === 3, 5_000, 'three frames');
      const frame = recorder.events[2]!.frame;
      expect(frame.toString()).toBe(
        `{"type":"aircraft","seq":3,"ts":${deleted!.ts},"data":{"id":"4ca2d1","removed":true,"reason":"deleted"}}`,
      );
      expect(await backplane.snapshots.read('aircraft')).toEqual({
        scope: 'aircraft',
        seq: 3,
        seqTs: deleted!.ts,
        items: ['{"id":"other"}'],
      });
      const history = await backplane.history.readAfter('aircraft', 2, 10);
      expect(history.kind === 'events' && history.events[0]!.frame.equals(frame)).toBe(true);
    });

    it('publishes nothing for the delete of an unknown or already deleted id (seq 0, skipped)', async () => {
      const { backplane } = await setup();
      const recorder = await record(backplane);
      await backplane.bus.publish([{ scope: 'vessels', data: { id: 'v1' } }]);
      const results = await backplane.bus.publish([
        { scope: 'vessels', op: 'delete', data: { id: 'never-seen' } },
        { scope: 'vessels', op: 'delete', data: { id: 'v1' } },
        { scope: 'vessels', op: 'delete', data: { id: 'v1' } },
        { scope: 'vessels', data: { id: 'witness' } },
      ]);
      expect(results.map((r) => [r.seq, r.skipped])).toEqual([
        [0, true],
        [2, undefined],
        [0, true],
        [3, undefined],
      ]);
      for (const r of results) expect(Number.isInteger(r.ts)).toBe(true);
      await waitFor(() => recorder.events.length === 3, 5_000, 'three frames');
      expect(recorder.seqs('vessels')).toEqual([1, 2, 3]);
      expect((await backplane.snapshots.read('vessels')).items).toEqual(['{"id":"witness"}']);
      expect((await backplane.history.readAfter('vessels', 0, 10)).lastSeq).toBe(3);
    });

    it('deletes by the string form of a numeric id; refuses a delete on a log scope, storing nothing', async () => {
      const { backplane } = await setup();
      await backplane.bus.publish([{ scope: 'aircraft', data: { id: '7' } }]);
      const [r] = await backplane.bus.publish([{ scope: 'aircraft', op: 'delete', data: { id: 7 } }]);
      expect(r?.seq).toBe(2);
      expect((await backplane.snapshots.read('aircraft')).items).toEqual([]);
      await expect(
        backplane.bus.publish([
          { scope: 'aircraft', data: { id: 'x' } },
          { scope: 'signals', op: 'delete', data: { id: 'x' } },
        ]),
      ).rejects.toThrow(TypeError);
      expect((await backplane.snapshots.read('aircraft')).seq).toBe(2);
      expect((await backplane.snapshots.read('signals')).seq).toBe(0);
    });

    it('JSON-escapes the id of a removal identically on every backend', async () => {
      const fixture = await setup('vessels:ttl=300');
      const { backplane } = fixture;
      const recorder = await record(backplane);
      const ids = ['a/b', 'q"uo\\te', 'ctl\u0001\u001f\u007f\t\n', 'é✈🚢東京', '\u2028'];
      await backplane.bus.publish(ids.map((id) => ({ scope: 'aircraft' as const, data: { id } })));
      await backplane.bus.publish(ids.map((id) => ({ scope: 'vessels' as const, data: { id } })));
      const deleted = await backplane.bus.publish(
        ids.map((id) => ({ scope: 'aircraft' as const, op: 'delete' as const, data: { id } })),
      );
      await fixture.elapse(500);
      expect(await backplane.sweepExpired()).toBe(ids.length);
      await waitFor(() => recorder.events.length === ids.length * 4, 5_000, 'all frames');
      for (const [i, id] of ids.entries()) {
        const p = deleted[i]!;
        const frame = recorder.events.find((e) => e.scope === 'aircraft' && e.seq === p.seq)!.frame;
        expect(frame.toString()).toBe(encodeEventFrame('aircraft', p.seq, p.ts, encodeRemovalData(id, 'deleted')));
        expect(json({ scope: 'aircraft', seq: p.seq, frame }).data).toEqual({ id, removed: true, reason: 'deleted' });
      }
      const expired = recorder.events.filter((e) => e.scope === 'vessels' && isRemoval(e));
      expect(expired.map((e) => json(e).data.id).sort()).toEqual([...ids].sort());
      for (const e of expired) {
        const { seq, ts, data } = json(e);
        expect(e.frame.toString()).toBe(encodeEventFrame('vessels', seq, ts, encodeRemovalData(data.id, 'expired')));
      }
    });

    it('announces each expired entity once, leaves fresh ones alone, and lets a removed one come back', async () => {
      // Real time on Redis: 'b' is checked fresh 900 ms after its update under a 1,500 ms TTL, a 600 ms margin
      // for a loaded machine (a 300 ms TTL with 100 ms of margin failed under load: 'b' had expired too).
      const fixture = await setup('aircraft:ttl=1500');
      const { backplane } = fixture;
      const recorder = await record(backplane);
      await backplane.bus.publish([
        { scope: 'aircraft', data: { id: 'a' } },
        { scope: 'aircraft', data: { id: 'b' } },
      ]);
      await fixture.elapse(900);
      await backplane.bus.publish([{ scope: 'aircraft', data: { id: 'b', updated: true } }]);
      await fixture.elapse(900);
      // 'a' is past its TTL: out of the snapshot already, before any sweep.
      expect(await snapshotIds(backplane, 'aircraft')).toEqual(['b']);
      expect(await backplane.sweepExpired()).toBe(1);
      expect(await backplane.sweepExpired()).toBe(0);
      await waitFor(() => recorder.events.length === 4, 5_000, 'four frames');
      const removal = json(recorder.events[3]!);
      expect(removal).toEqual({
        type: 'aircraft',
        seq: 4,
        ts: expect.any(Number),
        data: { id: 'a', removed: true, reason: 'expired' },
      });
      expect(await backplane.snapshots.read('aircraft')).toMatchObject({ seq: 4 });
      // An upsert after the removal is a plain upsert.
      const [back] = await backplane.bus.publish([{ scope: 'aircraft', data: { id: 'a', again: 1 } }]);
      expect(back?.seq).toBe(5);
      await waitFor(() => recorder.events.length === 5, 5_000, 'five frames');
      expect(json(recorder.events[4]!).data).toEqual({ id: 'a', again: 1 });
      // 'b' may have expired by now on a slow machine (its freshness was checked above): only 'a' matters here.
      expect(await snapshotIds(backplane, 'aircraft')).toContain('a');
      const replay = await backplane.history.readAfter('aircraft', 3, 10);
      expect(replay.kind === 'events' && replay.events.map((e) => JSON.parse(e.frame.toString()).data)).toEqual([
        { id: 'a', removed: true, reason: 'expired' },
        { id: 'a', again: 1 },
      ]);
      // Log scopes have nothing to expire.
      await expect(
        (backplane.bus as unknown as { expireEntities(s: Scope, n: number): Promise<number> }).expireEntities(
          'signals',
          10,
        ),
      ).rejects.toThrow(TypeError);
    });

    it('sweeps in batches until none is left', async () => {
      const fixture = await setup('vessels:ttl=200');
      const { backplane } = fixture;
      const count = EXPIRE_BATCH_LIMIT * 2 + 17;
      await backplane.bus.publish(range(1, count).map((n) => ({ scope: 'vessels' as const, data: { id: `v${n}` } })));
      await fixture.elapse(400);
      expect(await backplane.sweepExpired()).toBe(count);
      expect((await backplane.snapshots.read('vessels')).seq).toBe(count * 2);
    });

    it('produces exactly one removal per expired entity with two processes sweeping concurrently', async () => {
      // Real time on Redis: the kept entities are last refreshed when the waves stop, and must outlive the
      // final checks; a 600 ms TTL ran out before them on a loaded machine (load average 15): 1,500 ms.
      const fixture = await setup('aircraft:ttl=1500,vessels:ttl=1500');
      const { backplane, peer } = fixture;
      const recorder = await record(backplane);
      const doomed = range(1, 250).map((n) => `d${n}`);
      const kept = ['k1', 'k2', 'k3'];
      await backplane.bus.publish(kept.map((id) => ({ scope: 'aircraft' as const, data: { id } })));

      let sweeping = true;
      let swept = 0;
      const loop = async (bp: Backplane) => {
        while (sweeping) {
          const removed = await bp.sweepExpired();
          swept += removed;
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      // Two "processes", the second with two sweepers of its own.
      const loops = [loop(backplane), loop(peer), loop(peer)];
      // Doomed entities arrive in waves (so they expire in waves while the
      // sweepers run); the kept ones are refreshed well within their TTL.
      const removals = () => recorder.events.filter(isRemoval).length;
      for (let step = 0; step < 100 && removals() < 370; step++) {
        const wave = doomed.slice(step * 25, step * 25 + 25);
        await backplane.bus.publish(wave.map((id) => ({ scope: 'aircraft' as const, data: { id } })));
        await peer.bus.publish(wave.slice(0, 12).map((id) => ({ scope: 'vessels' as const, data: { id } })));
        await peer.bus.publish(kept.map((id) => ({ scope: 'aircraft' as const, data: { id, step } })));
        await fixture.elapse(100);
      }
      await waitFor(() => removals() >= 370, 10_000, '370 removals');
      // Let the sweepers run on for a while after the last expiry.
      await fixture.elapse(100);
      expect(await Promise.all([backplane.sweepExpired(), peer.sweepExpired()])).toEqual([0, 0]);
      sweeping = false;
      await Promise.all(loops);

      const removed = recorder.events.filter(isRemoval).map((e) => `${e.scope}:${json(e).data.id}`);
      expect(removed).toHaveLength(370);
      expect(new Set(removed).size).toBe(370);
      expect(removed.filter((r) => r.startsWith('aircraft:k'))).toEqual([]);
      expect(swept).toBe(370);
      expect(recorder.events.filter(isRemoval).every((e) => json(e).data.reason === 'expired')).toBe(true);
      expect(await snapshotIds(backplane, 'aircraft')).toEqual(kept);
      expect((await backplane.snapshots.read('vessels')).items).toEqual([]);
      // Live frames stayed gapless and in order per scope, removals included.
      for (const scope of ['aircraft', 'vessels'] as Scope[]) {
        const seqs = recorder.seqs(scope);
        expect(seqs).toEqual(range(1, seqs.length));
      }
    });

    it('ExpirySweeper announces expiries by itself and stops cleanly', async () => {
      const fixture = await setup('aircraft:ttl=200');
      const { backplane } = fixture;
      const recorder = await record(backplane);
      const swept: number[] = [];
      const sweeper = new ExpirySweeper({ backplane, intervalMs: 20, onSwept: (n) => swept.push(n) });
      sweepers.push(sweeper);
      sweeper.start();
      sweeper.start();
      await backplane.bus.publish([{ scope: 'aircraft', data: { id: 'lonely' } }]);
      await fixture.elapse(300);
      await waitFor(() => recorder.events.length === 2, 5_000, 'the removal');
      expect(json(recorder.events[1]!).data).toEqual({ id: 'lonely', removed: true, reason: 'expired' });
      await sweeper.stop();
      await sweeper.stop();
      expect(swept.reduce((a, b) => a + b, 0)).toBe(1);
    });
  });
}
