import { CloseCode } from '@hydra/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayMetrics } from './metrics.js';
import type { SocketData } from './session.js';
import { testSession } from './session.test-support.js';
import {
  type BacklogState,
  FRAME_HEADER_BYTES,
  isStalled,
  SLOW_CHECK_INTERVAL_MS,
  SlowConsumerPolicy,
  STALL_FLOOR_BYTES,
  stallFloor,
} from './slow-consumer-policy.js';
import type { WebSocket } from './uws.js';

const KB = 1024;

describe('slow-consumer check', () => {
  it('calls a client slow after two checks above the floor without its backlog shrinking', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    expect(isStalled(s, 10 * KB, 64 * KB)).toBe(false); // below the floor
    expect(isStalled(s, 70 * KB, 64 * KB)).toBe(false); // first strike
    expect(isStalled(s, 90 * KB, 64 * KB)).toBe(true); // grew again: slow
  });

  it('counts a flat backlog (read nothing, nothing new) as a stall', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    isStalled(s, 100 * KB, 64 * KB);
    expect(isStalled(s, 100 * KB, 64 * KB)).toBe(true);
  });

  it('leaves alone a client draining a burst, however large', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    for (const backlog of [900, 800, 650, 500, 300, 100, 0]) expect(isStalled(s, backlog * KB, 64 * KB)).toBe(false);
  });

  it('forgives one stall followed by progress', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    expect(isStalled(s, 100 * KB, 64 * KB)).toBe(false);
    expect(isStalled(s, 80 * KB, 64 * KB)).toBe(false); // read some: strikes reset
    expect(isStalled(s, 90 * KB, 64 * KB)).toBe(false);
    expect(isStalled(s, 95 * KB, 64 * KB)).toBe(true);
  });

  it('keeps the floor at most a quarter of the hard limit', () => {
    expect(stallFloor(1024 * KB)).toBe(STALL_FLOOR_BYTES);
    expect(stallFloor(64 * KB)).toBe(16 * KB);
  });

  it('leaves alone a client whose socket drained since the last check, though the backlog was refilled', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    for (let i = 0; i < 10; i++) expect(isStalled(s, (200 + i) * KB, 64 * KB, true)).toBe(false);
    expect(isStalled(s, 210 * KB, 64 * KB, false)).toBe(false); // first strike without a drain
    expect(isStalled(s, 210 * KB, 64 * KB, false)).toBe(true);
  });
});

/** A session on a fake socket whose backlog the test sets; counts how often the check reads it. */
function client(connId: number) {
  const state: { backlog: number; reads: number; ended: number | null } = { backlog: 0, reads: 0, ended: null };
  const session = testSession(connId, false);
  session.ws = {
    getBufferedAmount: () => {
      state.reads++;
      return state.backlog;
    },
    end: (code: number) => {
      state.ended = code;
    },
  } as unknown as WebSocket<SocketData>;
  return { session, state };
}

describe('SlowConsumerPolicy', () => {
  const MAX = 1024 * KB;
  const FLOOR = stallFloor(MAX);
  let policy: SlowConsumerPolicy;
  beforeEach(() => {
    vi.useFakeTimers();
    policy = new SlowConsumerPolicy(MAX, new GatewayMetrics({ defaultMetrics: false }));
    policy.start();
  });
  afterEach(() => {
    policy.stop();
    vi.useRealTimers();
  });
  const checks = (n: number) => vi.advanceTimersByTime(n * SLOW_CHECK_INTERVAL_MS);

  it('does not visit an idle session: once it was seen with nothing buffered, nothing reads its socket', () => {
    const idle = Array.from({ length: 100 }, (_, i) => client(i + 1));
    for (const c of idle) policy.add(c.session);
    checks(1); // just opened: looked at once, found empty
    expect(idle.every((c) => c.state.reads === 1)).toBe(true);
    expect(policy.watchedCount).toBe(0);
    checks(600); // a minute with nothing published and nothing sent to them
    expect(idle.every((c) => c.state.reads === 1)).toBe(true);
  });

  it('cuts a resting client stalled by the fan-out at the same check as a look at every client would', () => {
    const stalled = client(1);
    policy.add(stalled.session);
    checks(3); // rests
    const reads = stalled.state.reads;
    // Live events arrive; the client reads nothing. Below a floor's worth published, it is not looked at.
    for (let i = 0; i < 10; i++) {
      policy.published(1000);
      stalled.state.backlog += 1000 + FRAME_HEADER_BYTES;
      checks(1);
    }
    expect(stalled.state.reads).toBe(reads);
    // Once a floor's worth may be buffered for it, it is watched and cut after two strikes.
    let checksToCut = 0;
    while (stalled.state.ended === null && checksToCut < 200) {
      policy.published(4000);
      stalled.state.backlog += 4000 + FRAME_HEADER_BYTES;
      checks(1);
      checksToCut++;
    }
    expect(stalled.state.ended).toBe(CloseCode.SlowConsumer);
    // Strike one at the first check with the backlog past the floor (at most two ticks after its bytes were
    // published: the check counts only what uWS had written by the tick before), strike two at the next.
    const checksPastFloor = Math.ceil((FLOOR - 10 * (1000 + FRAME_HEADER_BYTES)) / (4000 + FRAME_HEADER_BYTES));
    expect(checksToCut).toBeLessThanOrEqual(checksPastFloor + 2);
  });

  it('watches a session handed bytes or drained, until it has nothing buffered again', () => {
    const a = client(1);
    policy.add(a.session);
    checks(1);
    expect(policy.watchedCount).toBe(0);
    a.state.backlog = 300 * KB; // a snapshot handed over by the pacer
    policy.watch(a.session);
    checks(1);
    expect(policy.watchedCount).toBe(1);
    checks(1); // not shrinking: second strike
    expect(a.state.ended).toBe(CloseCode.SlowConsumer);

    const b = client(2);
    policy.add(b.session);
    checks(1);
    b.state.backlog = 100 * KB;
    b.session.markDrained();
    policy.watch(b.session); // drain handler
    for (const backlog of [80, 40, 0]) {
      b.state.backlog = backlog * KB;
      checks(1);
    }
    expect(b.state.ended).toBe(null);
    expect(policy.watchedCount).toBe(1); // only a, which was ended (its close event removes it)
    policy.remove(a.session);
    expect(policy.watchedCount).toBe(0);
  });

  it('keeps a paced client watched, and leaves it alone while its socket drains', () => {
    const a = client(1);
    policy.add(a.session);
    a.session.outbox = [];
    a.state.backlog = 200 * KB; // within the pacer's budget
    for (let i = 0; i < 10; i++) {
      a.session.markDrained();
      checks(1);
    }
    expect(a.state.ended).toBe(null);
    a.state.backlog = 0; // the pacer waits for a drain that has not come yet: still watched
    checks(1);
    expect(policy.watchedCount).toBe(1);
  });

  it('ignores sessions it was not given, and forgets removed ones', () => {
    const a = client(1);
    policy.watch(a.session);
    checks(2);
    expect(a.state.reads).toBe(0);
    policy.add(a.session);
    policy.remove(a.session);
    policy.watch(a.session);
    checks(2);
    expect(a.state.reads).toBe(0);
  });
});
