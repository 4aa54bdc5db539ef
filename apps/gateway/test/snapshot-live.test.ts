import type { GatewayProcess, ReceivedMessage, StreamClient } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Asserts snapshot-then-live for one scope: one snapshot at S, then exactly S+1, S+2, … in order. */
function expectSnapshotThenLive(messages: ReceivedMessage[], scope: string, lastSeq: number): void {
  const snapIndex = messages.findIndex((m) => m.type === 'snapshot' && (m.data as { scope: string }).scope === scope);
  expect(snapIndex).toBeGreaterThan(0);
  const snapSeq = (messages[snapIndex]?.data as { seq: number }).seq;
  const live = messages.filter((m) => m.type === scope);
  const liveBeforeSnapshot = messages.slice(0, snapIndex).filter((m) => m.type === scope);
  expect(liveBeforeSnapshot).toEqual([]);
  const seqs = live.map((m) => m.seq);
  const expected = Array.from({ length: lastSeq - snapSeq }, (_, i) => snapSeq + 1 + i);
  expect(seqs).toEqual(expected);
}

/**
 * The highest seq of `scope` the client holds: its snapshot's seq or a later
 * live event's. An event published just before the client's snapshot read is
 * inside that snapshot and is (rightly) never sent live, so "caught up" must
 * not mean "received event `lastSeq` live".
 */
function seqReached(messages: ReceivedMessage[], scope: string): number {
  let reached = -1;
  for (const m of messages) {
    if (m.type === 'snapshot' && (m.data as { scope: string }).scope === scope) {
      reached = Math.max(reached, (m.data as { seq: number }).seq);
    } else if (m.type === scope && typeof m.seq === 'number') reached = Math.max(reached, m.seq);
  }
  return reached;
}

/** Resolves once the client holds every scope up to its last published seq (snapshot or live). */
function untilCaughtUp(c: StreamClient, lastSeqs: Record<string, number>, timeoutMs = 15_000): Promise<true> {
  const wanted = Object.entries(lastSeqs);
  return c.until(
    () => wanted.every(([scope, last]) => seqReached(c.messages, scope) >= last),
    timeoutMs,
    `seqs ${wanted.map(([s, n]) => `${s}:${n}`).join(',')}`,
  );
}

describe('snapshot then live', () => {
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

  it('sends the state published before the connect as a snapshot per scope, then live events', async () => {
    await f.publish('aircraft', { id: '4ca2d1', callsign: 'EIN123', lat: 53.4, lon: -6.2 });
    await f.publish('aircraft', { id: '3c6444', callsign: 'DLH4AB', lat: 50.0, lon: 8.5 });
    await f.publish('aircraft', { id: '4ca2d1', callsign: 'EIN123', lat: 53.5, lon: -6.1 });
    await f.publish('signals', { kind: 'rf', label: 'burst', freqHz: 433_920_000, custom: { nested: true } });
    const k = await f.key(['signals', 'aircraft', 'vessels']);
    const c = f.client(withKey(a.url, k.key));
    const snaps = await c.waitFor((m) => m.type === 'snapshot', 3);
    expect(c.messages[0]?.type).toBe('connected');
    const byScope = Object.fromEntries(snaps.map((s) => [(s.data as { scope: string }).scope, s.data]));
    const aircraft = byScope.aircraft as { seq: number; items: { id: string; lat: number }[] };
    expect(aircraft.seq).toBe(3);
    expect(aircraft.items.map((i) => i.id).sort()).toEqual(['3c6444', '4ca2d1']);
    expect(aircraft.items.find((i) => i.id === '4ca2d1')?.lat).toBe(53.5);
    const signals = byScope.signals as { items: Record<string, unknown>[] };
    expect(signals.items).toEqual([{ kind: 'rf', label: 'burst', freqHz: 433_920_000, custom: { nested: true } }]);
    expect((byScope.vessels as { items: unknown[] }).items).toEqual([]);

    const seq = await f.publish('aircraft', { id: '3c6444', lat: 50.1, lon: 8.6 });
    const [live] = await c.waitFor((m) => m.type === 'aircraft');
    expect(live).toMatchObject({ type: 'aircraft', seq, data: { id: '3c6444', lat: 50.1, lon: 8.6 } });
    expect(typeof live?.ts).toBe('number');
    await c.close();
  });

  it('sends no snapshot with snapshot=false', async () => {
    const k = await f.key(['aircraft']);
    const c = f.client(withKey(b.url, k.key, '&snapshot=false'));
    await c.waitFor((m) => m.type === 'connected');
    await f.publish('aircraft', { id: 'ffffff', lat: 0, lon: 0 });
    await c.waitFor((m) => m.type === 'aircraft');
    expect(c.ofType('snapshot')).toEqual([]);
    await c.close();
  });

  it('delivers events published while clients connect exactly once, in seq order, after the snapshot', async () => {
    const k = await f.key(['aircraft', 'signals']);
    let publishing = true;
    let lastAircraft = 0;
    let lastSignals = 0;
    const publisher = (async () => {
      let i = 0;
      while (publishing && i < 5000) {
        i++;
        const [ac, sg] = await f.backplane.bus.publish([
          { scope: 'aircraft', data: { id: `ac${i % 50}`, lat: i % 90, lon: 0 } },
          { scope: 'signals', data: { kind: 'rf', label: `s${i}` } },
        ]);
        lastAircraft = ac?.seq ?? lastAircraft;
        lastSignals = sg?.seq ?? lastSignals;
      }
    })();
    const clients: StreamClient[] = [];
    try {
      const connecting: Promise<StreamClient>[] = [];
      for (let i = 0; i < 40; i++) {
        const gw = i % 2 === 0 ? a : b;
        connecting.push(f.connectedClient(withKey(gw.url, k.key), { localAddress: `127.0.10.${i + 1}` }));
        if (i % 4 === 3) await (await connecting[connecting.length - 1])?.waitFor((m) => m.type === 'snapshot', 2);
      }
      clients.push(...(await Promise.all(connecting)));
      await Promise.all(clients.map((c) => c.waitFor((m) => m.type === 'snapshot', 2)));
    } finally {
      // Also on failure: a publisher left running would feed the next test and outlive the fixture's Redis.
      publishing = false;
      await publisher;
    }
    for (const c of clients) {
      await untilCaughtUp(c, { aircraft: lastAircraft, signals: lastSignals });
      expectSnapshotThenLive(c.messages, 'aircraft', lastAircraft);
      expectSnapshotThenLive(c.messages, 'signals', lastSignals);
    }
    await Promise.all(clients.map((c) => c.close()));
  });

  // Regression (CI flake, 1 in 4 runs): the test above stops publishing once every client has its snapshots, so
  // the publisher's last batch can be executed by Redis before the last client's snapshot reads. That client
  // then holds the last events in its snapshots and correctly gets no live event, and a wait for "live event
  // with seq === last" timed out after 15 s with only connected + snapshots. This forces that interleaving.
  it('counts a client whose snapshot already holds the last published event as caught up', async () => {
    const k = await f.key(['aircraft', 'signals']);
    const lastAircraft = await f.publish('aircraft', { id: 'ac-last', lat: 1, lon: 1 });
    const lastSignals = await f.publish('signals', { kind: 'rf', label: 'last' });
    const c = f.client(withKey(a.url, k.key));
    await c.waitFor((m) => m.type === 'snapshot', 2);
    await untilCaughtUp(c, { aircraft: lastAircraft, signals: lastSignals }, 5_000);
    expectSnapshotThenLive(c.messages, 'aircraft', lastAircraft);
    expectSnapshotThenLive(c.messages, 'signals', lastSignals);
    expect(c.ofType('aircraft')).toEqual([]);
    expect(c.ofType('signals')).toEqual([]);
    await c.close();
  });
});
