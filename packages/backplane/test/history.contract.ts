import type { IngestEvent, Scope } from '@hydra/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type BusSubscription, type HistoryEvent, type HistoryRead, parseRetention } from '../src/index.js';
import type { BackplaneFactory, BackplaneFixture } from './backplane-fixture.js';
import { Recorder, waitFor } from './event-bus.contract.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function events(read: HistoryRead): HistoryEvent[] {
  if (read.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(read)}`);
  return read.events;
}

const seqsOf = (read: HistoryRead) => events(read).map((e) => e.seq);
const signals = (from: number, to: number): IngestEvent[] =>
  range(from, to).map((n) => ({ scope: 'signals' as const, data: { n } }));

/**
 * The HistoryStore contract every backend passes: history written by the
 * publish step, byte-identical to the live frames, read by position with the
 * documented events / gone / future answers, bounded by length and age.
 */
export function historyContract(name: string, factory: BackplaneFactory): void {
  describe(`HistoryStore contract: ${name}`, () => {
    const open: BackplaneFixture[] = [];
    const subscriptions: BusSubscription[] = [];

    async function setup(retention?: string): Promise<BackplaneFixture> {
      const fixture = await factory(parseRetention(retention));
      open.push(fixture);
      return fixture;
    }

    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      await Promise.all(open.splice(0).map((f) => f.close()));
    });

    it('returns, for every scope, the very bytes subscribers received, in seq order', async () => {
      const { backplane } = await setup();
      const recorder = new Recorder();
      subscriptions.push(await backplane.bus.subscribe(recorder));
      const odd = { text: 'héllo ✈ "q" \\ / \n \u2028 \u0000 %d', big: 1e21, nested: { list: [1, { x: null }] } };
      const published = await backplane.bus.publish([
        { scope: 'signals', data: odd },
        { scope: 'aircraft', data: { id: 'a/1', ...odd } },
        { scope: 'aircraft', op: 'delete', data: { id: 'a/1' } },
        { scope: 'vessels', data: { id: 'v1' } },
        { scope: 'alerts', data: { n: 1 } },
        { scope: 'cyber', data: { n: 1 } },
        { scope: 'signals', data: { n: 2 } },
      ]);
      await waitFor(() => recorder.events.length === published.length, 5_000, 'all frames');
      for (const scope of ['signals', 'aircraft', 'vessels', 'alerts', 'cyber'] as Scope[]) {
        const live = recorder.events.filter((e) => e.scope === scope);
        const read = await backplane.history.readAfter(scope, 0, 100);
        expect(read).toMatchObject({ kind: 'events', lastSeq: live.length });
        const replay = events(read);
        expect(replay.map((e) => e.seq)).toEqual(live.map((e) => e.seq));
        for (const [i, e] of replay.entries()) {
          expect(Buffer.isBuffer(e.frame)).toBe(true);
          expect(e.frame.equals(live[i]!.frame)).toBe(true);
        }
      }
    });

    it('reads after 0, the middle, the current seq and a future seq', async () => {
      const { backplane } = await setup();
      const { history } = backplane;
      expect(await history.readAfter('cyber', 0, 10)).toEqual({ kind: 'events', events: [], lastSeq: 0 });
      expect(await history.readAfter('cyber', 1, 10)).toEqual({ kind: 'future', lastSeq: 0 });
      await backplane.bus.publish(signals(1, 10));
      expect(seqsOf(await history.readAfter('signals', 0, 100))).toEqual(range(1, 10));
      const middle = await history.readAfter('signals', 4, 100);
      expect(seqsOf(middle)).toEqual(range(5, 10));
      expect(events(middle).map((e) => JSON.parse(e.frame.toString()).data.n)).toEqual(range(5, 10));
      expect(await history.readAfter('signals', 10, 100)).toEqual({ kind: 'events', events: [], lastSeq: 10 });
      expect(await history.readAfter('signals', 11, 100)).toEqual({ kind: 'future', lastSeq: 10 });
      expect(await history.readAfter('signals', 1_000_000, 1)).toEqual({ kind: 'future', lastSeq: 10 });
    });

    it('checks a proven position (the ts of its event): reset when another event holds that seq', async () => {
      const { backplane } = await setup();
      const { history } = backplane;
      const published = await backplane.bus.publish(signals(1, 10));
      const tsOf = (seq: number) => published[seq - 1]!.ts;
      expect(seqsOf(await history.readAfter('signals', 4, 100, tsOf(4)))).toEqual(range(5, 10));
      expect(await history.readAfter('signals', 4, 100, tsOf(4) + 1)).toEqual({ kind: 'reset', lastSeq: 10 });
      expect(await history.readAfter('signals', 10, 100, tsOf(10))).toEqual({
        kind: 'events',
        events: [],
        lastSeq: 10,
      });
      expect(await history.readAfter('signals', 10, 100, tsOf(10) - 1)).toEqual({ kind: 'reset', lastSeq: 10 });
      // Future stays future (the caller decides); position 0 needs no proof.
      expect(await history.readAfter('signals', 11, 100, tsOf(10))).toEqual({ kind: 'future', lastSeq: 10 });
      expect(seqsOf(await history.readAfter('signals', 0, 100, 12345))).toEqual(range(1, 10));
      await expect(history.readAfter('signals', 1, 10, -1)).rejects.toThrow(RangeError);
    });

    it('proves a position just before the oldest retained event (kept as an anchor), by length and by age', async () => {
      const fixture = await setup('signals:history=5,cyber:historyAge=400');
      const { backplane } = fixture;
      const published = await backplane.bus.publish(signals(1, 20));
      const tsOf = (seq: number) => published[seq - 1]!.ts;
      // 16 is the oldest retained: a reader at 15 proves its position against the anchor; one at 14 cannot.
      expect(seqsOf(await backplane.history.readAfter('signals', 15, 100, tsOf(15)))).toEqual(range(16, 20));
      expect(await backplane.history.readAfter('signals', 15, 100, tsOf(15) + 1)).toEqual({
        kind: 'reset',
        lastSeq: 20,
      });
      expect(await backplane.history.readAfter('signals', 14, 100, tsOf(14))).toEqual({
        kind: 'gone',
        oldestSeq: 16,
        lastSeq: 20,
      });
      // A quiet scope: the reader's event aged out of the history before the next one came.
      const [quiet] = await backplane.bus.publish([{ scope: 'cyber', data: { n: 1 } }]);
      await fixture.elapse(600);
      await backplane.bus.publish([{ scope: 'cyber', data: { n: 2 } }]);
      expect(seqsOf(await backplane.history.readAfter('cyber', 1, 100, quiet!.ts))).toEqual([2]);
      expect(await backplane.history.readAfter('cyber', 1, 100, quiet!.ts + 1)).toEqual({ kind: 'reset', lastSeq: 2 });
    });

    it('pages by maxEvents, reporting the current lastSeq so the caller reads on', async () => {
      const { backplane } = await setup();
      await backplane.bus.publish(signals(1, 25));
      const seen: number[] = [];
      let after = 0;
      for (;;) {
        const read = await backplane.history.readAfter('signals', after, 10);
        expect(read.lastSeq).toBe(25);
        const page = events(read);
        expect(page.length).toBeLessThanOrEqual(10);
        if (page.length === 0) break;
        seen.push(...page.map((e) => e.seq));
        after = page[page.length - 1]!.seq;
      }
      expect(seen).toEqual(range(1, 25));
      expect(seqsOf(await backplane.history.readAfter('signals', 20, 1))).toEqual([21]);
    });

    it('reports positions beyond historyMaxItems as gone, with the oldest retained seq', async () => {
      const { backplane } = await setup('signals:history=5,aircraft:history=3');
      await backplane.bus.publish(signals(1, 20));
      const { history } = backplane;
      expect(await history.readAfter('signals', 0, 100)).toEqual({ kind: 'gone', oldestSeq: 16, lastSeq: 20 });
      expect(await history.readAfter('signals', 14, 100)).toEqual({ kind: 'gone', oldestSeq: 16, lastSeq: 20 });
      expect(seqsOf(await history.readAfter('signals', 15, 100))).toEqual(range(16, 20));
      expect(seqsOf(await history.readAfter('signals', 17, 100))).toEqual(range(18, 20));
      expect(await history.readAfter('signals', 20, 100)).toEqual({ kind: 'events', events: [], lastSeq: 20 });
      // Trimming keeps up over many publishes, and per scope.
      await backplane.bus.publish(
        range(1, 300).map((n) => ({ scope: 'aircraft' as const, data: { id: `a${n % 7}` } })),
      );
      expect(await history.readAfter('aircraft', 296, 10)).toEqual({ kind: 'gone', oldestSeq: 298, lastSeq: 300 });
      expect(seqsOf(await history.readAfter('aircraft', 297, 10))).toEqual([298, 299, 300]);
      expect(seqsOf(await history.readAfter('signals', 15, 100))).toEqual(range(16, 20));
    });

    it('reports events older than historyMaxAgeMs as gone', async () => {
      const fixture = await setup('signals:historyAge=400');
      const { backplane } = fixture;
      const { history } = backplane;
      await backplane.bus.publish(signals(1, 3));
      await fixture.elapse(600);
      await backplane.bus.publish(signals(4, 5));
      expect(await history.readAfter('signals', 0, 100)).toEqual({ kind: 'gone', oldestSeq: 4, lastSeq: 5 });
      expect(await history.readAfter('signals', 2, 100)).toEqual({ kind: 'gone', oldestSeq: 4, lastSeq: 5 });
      expect(seqsOf(await history.readAfter('signals', 3, 100))).toEqual([4, 5]);
      await fixture.elapse(600);
      // Nothing retained: the next event would be the oldest. The current position still reads fine.
      expect(await history.readAfter('signals', 3, 100)).toEqual({ kind: 'gone', oldestSeq: 6, lastSeq: 5 });
      expect(await history.readAfter('signals', 5, 100)).toEqual({ kind: 'events', events: [], lastSeq: 5 });
      await backplane.bus.publish(signals(6, 6));
      expect(seqsOf(await history.readAfter('signals', 5, 100))).toEqual([6]);
      expect(await history.readAfter('signals', 4, 100)).toEqual({ kind: 'gone', oldestSeq: 6, lastSeq: 6 });
    });

    it('stays contiguous and consistent with live frames under concurrent publishes and reads', async () => {
      const { backplane } = await setup();
      const recorder = new Recorder();
      subscriptions.push(await backplane.bus.subscribe(recorder));
      const publishing = Promise.all(range(1, 10).map((b) => backplane.bus.publish(signals(b * 100, b * 100 + 19))));
      const reads = await Promise.all(range(0, 19).map((i) => backplane.history.readAfter('signals', i * 3, 50)));
      await publishing;
      await waitFor(() => recorder.events.length === 200, 5_000, '200 frames');
      const live = new Map(recorder.events.map((e) => [e.seq, e.frame]));
      for (const [i, read] of reads.entries()) {
        if (read.kind === 'future') {
          expect(read.lastSeq).toBeLessThan(i * 3);
          continue;
        }
        const page = events(read);
        expect(page.map((e) => e.seq)).toEqual(range(i * 3 + 1, Math.min(i * 3 + 50, read.lastSeq)));
        for (const e of page) expect(e.frame.equals(live.get(e.seq)!)).toBe(true);
      }
    });

    it('rejects a negative or fractional position and a maxEvents below 1', async () => {
      const { history } = (await setup()).backplane;
      await expect(history.readAfter('signals', -1, 10)).rejects.toThrow(RangeError);
      await expect(history.readAfter('signals', 1.5, 10)).rejects.toThrow(RangeError);
      await expect(history.readAfter('signals', 0, 0)).rejects.toThrow(RangeError);
    });
  });
}
