import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from './heartbeat.js';
import { GatewayMetrics } from './metrics.js';
import type { Session, SocketData } from './session.js';
import { testSession } from './session.test-support.js';
import type { WebSocket } from './uws.js';

const INTERVAL = 1000;

/** A session on a fake socket whose unsent backlog the test sets. */
function client(connId: number) {
  const state = { backlog: 0, pings: 0, closed: false, reads: 0 };
  const session = testSession(connId, false);
  session.ws = {
    getBufferedAmount: () => {
      state.reads++;
      return state.backlog;
    },
    ping: () => {
      state.pings++;
      return 1;
    },
    close: () => {
      state.closed = true;
      session.closed = true;
    },
  } as unknown as WebSocket<SocketData>;
  return { session, state };
}

describe('Heartbeat', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const start = (...sessions: Session[]) => {
    const hb = new Heartbeat(INTERVAL, new GatewayMetrics({ defaultMetrics: false }));
    for (const session of sessions) hb.add(session);
    hb.start();
    return hb;
  };

  it('pings every interval and keeps a peer that answers', () => {
    const a = client(1);
    const hb = start(a.session);
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(INTERVAL);
      Heartbeat.onPong(a.session);
    }
    expect(a.state.pings).toBe(3);
    expect(a.state.closed).toBe(false);
    hb.stop();
  });

  it('drops a peer that has not answered by the next tick while nothing is queued for it', () => {
    const a = client(1);
    const hb = start(a.session);
    vi.advanceTimersByTime(INTERVAL);
    vi.advanceTimersByTime(INTERVAL);
    expect(a.state.closed).toBe(true);
    hb.stop();
  });

  it('waits for a peer whose ping is queued behind a backlog it keeps draining, then drops it once it stops', () => {
    const a = client(1);
    a.state.backlog = 900_000; // a large snapshot ahead of the ping
    const hb = start(a.session);
    vi.advanceTimersByTime(INTERVAL); // ping queued at 900 KB
    a.state.backlog = 500_000;
    vi.advanceTimersByTime(INTERVAL);
    a.state.backlog = 100_000;
    vi.advanceTimersByTime(INTERVAL);
    expect(a.state.closed).toBe(false);
    expect(a.state.pings).toBe(1);
    vi.advanceTimersByTime(INTERVAL); // no progress since the last tick, still no pong
    expect(a.state.closed).toBe(true);
    hb.stop();
  });

  it('spreads the pings over the interval: each tick pings a share, each session once per interval', () => {
    const clients = Array.from({ length: 200 }, (_, i) => client(i + 1));
    const hb = start(...clients.map((c) => c.session));
    const pinged = () => clients.reduce((n, c) => n + c.state.pings, 0);
    vi.advanceTimersByTime(INTERVAL / 10); // one of the ten 100 ms slots
    expect(pinged()).toBe(20);
    vi.advanceTimersByTime(INTERVAL - INTERVAL / 10);
    expect(clients.every((c) => c.state.pings === 1)).toBe(true);
    for (const c of clients) Heartbeat.onPong(c.session);
    vi.advanceTimersByTime(INTERVAL);
    expect(clients.every((c) => c.state.pings === 2 && !c.state.closed)).toBe(true);
    hb.stop();
  });

  it('pings at the next tick the slots a busy event loop made it skip', () => {
    const clients = Array.from({ length: 50 }, (_, i) => client(i + 1));
    let now = 0;
    const hb = new Heartbeat(INTERVAL, new GatewayMetrics({ defaultMetrics: false }), { now: () => now });
    for (const c of clients) hb.add(c.session);
    hb.start();
    now += INTERVAL; // the loop was blocked for a whole interval; one tick fires
    vi.advanceTimersByTime(INTERVAL / 10);
    expect(clients.every((c) => c.state.pings === 1)).toBe(true);
    hb.stop();
  });

  it('keeps a client whose paced snapshot drains, though the pacer keeps its backlog up', () => {
    const a = client(1);
    a.state.backlog = 500_000;
    a.session.outbox = [];
    const hb = start(a.session);
    vi.advanceTimersByTime(INTERVAL); // ping queued behind 500 KB
    for (let i = 0; i < 3; i++) {
      a.session.markDrained(); // it reads; the pacer refills to the same backlog
      vi.advanceTimersByTime(INTERVAL);
      expect(a.state.closed).toBe(false);
    }
    vi.advanceTimersByTime(INTERVAL); // no drain, no pong
    expect(a.state.closed).toBe(true);
    hb.stop();
  });

  it('touches only the sessions whose slot is due, and none that left', () => {
    const clients = Array.from({ length: 200 }, (_, i) => client(i + 1));
    const hb = start(...clients.map((c) => c.session));
    const gone = clients[0] as (typeof clients)[number];
    hb.remove(gone.session);
    const touched = () => clients.filter((c) => c.state.reads + c.state.pings > 0).length;
    vi.advanceTimersByTime(INTERVAL / 10);
    const firstSlot = clients.filter((c) => c.state.pings > 0).map((c) => c.session.connId % 10);
    expect(firstSlot.length).toBeGreaterThanOrEqual(19); // the slot's 20, less the one that left if it was there
    expect(touched()).toBe(firstSlot.length); // no other socket was read
    expect(new Set(firstSlot).size).toBe(1);
    vi.advanceTimersByTime(INTERVAL - INTERVAL / 10);
    expect(touched()).toBe(199);
    expect(gone.state.pings).toBe(0);
    hb.stop();
  });

  it('reports a session whose ping stays queued behind a backlog', () => {
    const a = client(1);
    const b = client(2);
    a.state.backlog = 100_000;
    const reported: number[] = [];
    const hb = new Heartbeat(INTERVAL, new GatewayMetrics({ defaultMetrics: false }), {
      onBacklog: (session) => reported.push(session.connId),
    });
    hb.add(a.session);
    hb.add(b.session);
    hb.start();
    vi.advanceTimersByTime(INTERVAL);
    expect(reported).toEqual([1]);
    hb.stop();
  });
});

describe('Heartbeat with uWS idle pings (native)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const start = (...sessions: Session[]) => {
    const hb = new Heartbeat(INTERVAL, new GatewayMetrics({ defaultMetrics: false }), { mode: 'native' });
    for (const session of sessions) hb.add(session);
    hb.start();
    return hb;
  };

  it('leaves idle sessions to uWS: no ping, no socket read, ever', () => {
    const clients = Array.from({ length: 100 }, (_, i) => client(i + 1));
    const hb = start(...clients.map((c) => c.session));
    vi.advanceTimersByTime(5 * INTERVAL);
    expect(clients.every((c) => c.state.pings === 0 && c.state.reads === 0 && !c.state.closed)).toBe(true);
    hb.stop();
  });

  it('pings a stirred session at once, then every interval while it stays stirred, then hands it back', () => {
    const a = client(1);
    const hb = start(a.session);
    hb.stir(a.session); // e.g. the client pinged us: uWS's idle timer was reset
    expect(a.state.pings).toBe(1);
    hb.stir(a.session); // already the timer's: no second ping
    expect(a.state.pings).toBe(1);
    for (let i = 2; i <= 4; i++) {
      vi.advanceTimersByTime(INTERVAL);
      expect(a.state.pings).toBe(i);
      hb.stir(a.session); // stirred again within the interval
    }
    vi.advanceTimersByTime(INTERVAL); // pinged; stirred in the interval before, so kept one more
    expect(a.state.pings).toBe(5);
    vi.advanceTimersByTime(INTERVAL); // a whole interval unstirred: pinged a last time and handed back to uWS
    expect(a.state.pings).toBe(6);
    vi.advanceTimersByTime(3 * INTERVAL);
    expect(a.state.pings).toBe(6);
    hb.stir(a.session); // stirred again later: the timer's again, pinged at once
    expect(a.state.pings).toBe(7);
    expect(a.state.closed).toBe(false); // dead peers are uWS's to find
    hb.stop();
  });

  it('never pings a stirred session that closed, nor keeps it', () => {
    const a = client(1);
    const b = client(2);
    const hb = start(a.session, b.session);
    hb.stir(a.session);
    hb.stir(b.session);
    expect(hb.size).toBe(2);
    hb.remove(a.session);
    a.session.closed = true;
    hb.stir(a.session);
    b.session.closed = true; // closed without remove(): dropped at its next visit
    vi.advanceTimersByTime(3 * INTERVAL);
    expect(a.state.pings).toBe(1);
    expect(b.state.pings).toBe(1);
    expect(hb.size).toBe(0);
    hb.stop();
  });
});
