import { CloseCode } from '@hydra/protocol';
import type { GatewayProcess, ReceivedMessage } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The tier the tests use: the shortest, so a few flushes take a few seconds. */
const TIER_MS = 1000;
/**
 * Two aircraft messages further apart than this belong to different flushes.
 * A flush of these tests is one slice, written to the socket in one step, so
 * its messages arrive within milliseconds; flushes are TIER_MS apart.
 */
const FLUSH_GAP_MS = TIER_MS / 3;

type Data = { id: string; removed?: true; reason?: string; [k: string]: unknown };

/** The publisher's log of the aircraft scope: seq → data, as the test published it (Redis starts empty). */
class AircraftLog {
  readonly events = new Map<number, Data>();

  async upsert(f: StreamFixture, data: Data): Promise<number> {
    const [p] = await f.backplane.bus.publish([{ scope: 'aircraft', data }]);
    this.events.set(p?.seq as number, data);
    return p?.seq as number;
  }

  async remove(f: StreamFixture, id: string): Promise<number> {
    const [p] = await f.backplane.bus.publish([{ scope: 'aircraft', op: 'delete', data: { id } }]);
    this.events.set(p?.seq as number, { id, removed: true, reason: 'deleted' });
    return p?.seq as number;
  }

  /** The entities after every event up to `seq`. */
  stateAt(seq: number): Map<string, Data> {
    const state = new Map<string, Data>();
    for (const [s, data] of [...this.events].sort((a, b) => a[0] - b[0])) {
      if (s > seq) break;
      if (data.removed) state.delete(data.id);
      else state.set(data.id, data);
    }
    return state;
  }

  /** The conflation of the events after `seq`: each changed entity's latest seq (a removal an upsert followed kept too). */
  conflatedAfter(seq: number): number[] {
    const latest = new Map<string, number>();
    const removalBefore = new Map<string, number>();
    for (const [s, data] of [...this.events].sort((a, b) => a[0] - b[0])) {
      if (s <= seq) continue;
      const prev = latest.get(data.id);
      if (!data.removed && prev !== undefined && this.events.get(prev)?.removed) removalBefore.set(data.id, prev);
      if (data.removed) removalBefore.delete(data.id);
      latest.set(data.id, s);
    }
    return [...latest.values(), ...removalBefore.values()].sort((a, b) => a - b);
  }
}

/** A client's aircraft state, built from what it received (as the SDK's entities() is). */
class ClientView {
  readonly entities = new Map<string, unknown>();
  seq = -1;
  ts = 0;

  apply(m: ReceivedMessage): void {
    if (m.type === 'snapshot') {
      const d = m.data as { scope: string; seq: number; ts: number; items: Data[]; complete: boolean };
      if (d.scope !== 'aircraft') return;
      this.entities.clear();
      for (const item of d.items) this.entities.set(String(item.id), item);
      this.seq = d.seq;
      this.ts = d.ts;
    } else if (m.type === 'aircraft') {
      const d = m.data as Data;
      if (d.removed) this.entities.delete(String(d.id));
      else this.entities.set(String(d.id), d);
      this.seq = m.seq as number;
      this.ts = m.ts as number;
    }
  }
}

/** A client that notes when each message arrived (to find flush boundaries). */
function timedClient(f: StreamFixture, url: string) {
  const at: number[] = [];
  const client = f.client(url, { onMessage: () => at.push(Date.now()) });
  return { client, at };
}

/** The indexes of the last aircraft message of each flush, found by the pauses between flushes. */
function flushEnds(messages: ReceivedMessage[], at: number[]): number[] {
  const aircraft = messages.flatMap((m, i) => (m.type === 'aircraft' ? [i] : []));
  const ends: number[] = [];
  for (let k = 0; k < aircraft.length; k++) {
    const i = aircraft[k] as number;
    const next = aircraft[k + 1];
    if (next === undefined || (at[next] as number) - (at[i] as number) > FLUSH_GAP_MS) ends.push(i);
  }
  return ends;
}

describe('conflate=<ms>: conflation tiers of entity scopes', () => {
  let f: StreamFixture;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    f = await StreamFixture.start();
    [a, b] = await Promise.all([f.gateway(), f.gateway()]);
  });
  afterAll(async () => {
    await f?.stop();
  });

  it("delivers each flush so that the client's entities equal the publisher's log at each tier boundary, removals included, log scopes unconflated", async () => {
    const log = new AircraftLog();
    const k = await f.key(['aircraft', 'alerts']);
    for (let i = 0; i < 6; i++) await log.upsert(f, { id: `c${i}`, lat: 0, lon: i });
    const { client, at } = timedClient(f, withKey(a.url, k.key, `&conflate=${TIER_MS}`));
    await client.waitFor((m) => m.type === 'snapshot' && (m.data as { scope: string }).scope === 'aircraft');

    // About three tier intervals of updates: each entity many times per interval, some removed (for good, or
    // then back), and alerts alongside.
    const alertSeqs: number[] = [];
    const started = Date.now();
    let round = 0;
    while (Date.now() - started < 3.2 * TIER_MS) {
      round++;
      for (let i = 0; i < 6; i++) await log.upsert(f, { id: `c${i}`, lat: round, lon: i });
      if (round === 5) await log.remove(f, 'c5');
      if (round === 8) await log.remove(f, 'c4');
      if (round === 9) await log.upsert(f, { id: 'c5', lat: -1, lon: -1 });
      if (round % 10 === 0) {
        const [p] = await f.backplane.bus.publish([
          { scope: 'alerts', data: { identifier: `A${round}`, severity: 'Minor', event: 'Test', headline: 't' } },
        ]);
        alertSeqs.push(p?.seq as number);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await log.remove(f, 'c0');
    const last = Math.max(...log.events.keys());
    await client.waitFor((m) => m.type === 'aircraft' && m.seq === last, 1, 5 * TIER_MS);

    const view = new ClientView();
    const ends = new Set(flushEnds(client.messages, at));
    const aircraft = client.ofType('aircraft');
    let boundaries = 0;
    client.messages.forEach((m, i) => {
      view.apply(m);
      if (m.type === 'aircraft') {
        // Byte for byte the log's event at that seq.
        expect(m.data).toEqual(log.events.get(m.seq as number));
        if (ends.has(i)) {
          boundaries++;
          expect(view.entities).toEqual(log.stateAt(m.seq as number));
        }
      }
    });
    expect(boundaries).toBeGreaterThanOrEqual(3);
    // Conflated: seqs increase, far fewer events than published, and every removal whose entity stayed away arrived.
    const seqs = aircraft.map((m) => m.seq as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.length).toBeLessThan(log.events.size / 4);
    const removals = aircraft.filter((m) => (m.data as Data).removed).map((m) => (m.data as Data).id);
    expect(removals).toEqual(expect.arrayContaining(['c4', 'c0']));
    // The log scope's events all came, one by one.
    expect(client.ofType('alerts').map((m) => m.seq)).toEqual(alertSeqs);
    await client.close();
  });

  it('resumes on another replica with the same option: a conflated replay of the missed history, then conflated live', async () => {
    // Only events after the position matter here (the earlier test's are before it).
    const log = new AircraftLog();
    const k = await f.key(['aircraft']);
    const first = f.client(withKey(a.url, k.key, `&conflate=${TIER_MS}`));
    await first.waitFor((m) => m.type === 'snapshot');
    const snapSeq = (first.ofType('snapshot')[0]?.data as { seq: number }).seq;
    const p = await log.upsert(f, { id: 'r1', lat: 1, lon: 1 });
    await first.waitFor((m) => m.type === 'aircraft' && m.seq === p, 1, 5 * TIER_MS);
    await first.close();
    const view = new ClientView();
    for (const m of first.messages) view.apply(m);
    expect(view.seq).toBe(p);
    expect(snapSeq).toBeLessThan(p);

    // Missed: 10 rounds over 5 entities; r3 removed for good, r4 removed and back.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 5; i++) if (!(i === 3 && round > 3)) await log.upsert(f, { id: `r${i}`, lat: round, lon: i });
      if (round === 3) await log.remove(f, 'r3');
      if (round === 6) await log.remove(f, 'r4');
    }
    await log.remove(f, 'r2');
    const expected = log.conflatedAfter(p);
    expect(expected.length).toBeLessThan(10);

    const second = f.client(withKey(b.url, k.key, `&conflate=${TIER_MS}&resume=aircraft:${view.seq}:${view.ts}`));
    await second.waitFor((m) => m.type === 'aircraft', expected.length, 5 * TIER_MS);
    const live = await log.upsert(f, { id: 'r9', lat: 9, lon: 9 });
    await second.waitFor((m) => m.type === 'aircraft' && m.seq === live, 1, 5 * TIER_MS);
    expect(second.ofType('snapshot')).toEqual([]);
    expect(second.ofType('resync')).toEqual([]);
    expect(second.ofType('aircraft').map((m) => m.seq)).toEqual([...expected, live]);
    for (const m of second.messages) {
      if (m.type === 'aircraft') expect(m.data).toEqual(log.events.get(m.seq as number));
      view.apply(m);
    }
    const removed = second.ofType('aircraft').filter((m) => (m.data as Data).removed);
    expect(removed.map((m) => (m.data as Data).id).sort()).toEqual(['r2', 'r3', 'r4']);
    expect(view.entities.has('r2')).toBe(false);
    expect(view.entities.has('r3')).toBe(false);
    expect(view.entities.get('r4')).toEqual({ id: 'r4', lat: 9, lon: 4 });
    await second.close();
  });

  it('spreads a flush larger than the send budget over slices and paces a joining client through it: both end equal to the log', async () => {
    // 64 KiB per client: flush slices of 16 KiB, a paced budget of 32 KiB; a flush here is ~90 KB.
    const small = await f.gateway({ HYDRA_MAX_BUFFERED_BYTES: String(64 * 1024) });
    const log = new AircraftLog();
    const k = await f.key(['aircraft']);
    const ids = Array.from({ length: 600 }, (_, i) => `big${i}`);
    const publishAll = async (round: number) => {
      const items = ids.map((id) => ({ scope: 'aircraft' as const, data: { id, round, pad: 'p'.repeat(80) } }));
      const published = await f.backplane.bus.publish(items);
      for (const [i, p] of published.entries()) log.events.set(p.seq, (items[i] as { data: Data }).data);
    };
    const early = f.client(withKey(small.url, k.key, `&conflate=${TIER_MS}`));
    await early.waitFor((m) => m.type === 'snapshot');
    await publishAll(1);
    // Joins with a snapshot, then waits for a flush whose events after its snapshot exceed its budget.
    const late = f.client(withKey(small.url, k.key, `&conflate=${TIER_MS}`));
    await late.waitFor((m) => m.type === 'snapshot' && (m.data as { complete: boolean }).complete);
    await publishAll(2);
    await publishAll(3);
    const last = Math.max(...log.events.keys());
    for (const c of [early, late]) {
      await c.waitFor((m) => m.type === 'aircraft' && m.seq === last, 1, 10 * TIER_MS);
      const view = new ClientView();
      for (const m of c.messages) view.apply(m);
      const seqs = c.ofType('aircraft').map((m) => m.seq as number);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
      const expected = log.stateAt(last);
      for (const id of ids) expect(view.entities.get(id)).toEqual(expected.get(id));
      expect(c.closeCode).toBeNull();
    }
    await Promise.all([early.close(), late.close()]);
  });

  it.each([
    ['2000'],
    ['0'],
    ['5s'],
    [''],
  ])('refuses conflate=%s with an error naming the option and close 4002', async (value) => {
    const k = await f.key(['aircraft']);
    const c = f.client(withKey(a.url, k.key, `&conflate=${value}`));
    if (value === '') {
      // Empty is the option's absence: served as today.
      await c.waitFor((m) => m.type === 'snapshot');
      await c.close();
      return;
    }
    const [error] = await c.waitFor((m) => m.type === 'error');
    expect(error?.data).toEqual({
      code: 'bad_request',
      message: expect.stringMatching(/^conflate: must be one of 1000, 5000, 30000/),
    });
    const { code } = await c.closed;
    expect(code).toBe(CloseCode.BadRequest);
  });
});
