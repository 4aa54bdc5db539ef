import { encodeEventFrame } from '@hydra/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConflationTier, type ConflationTierDeps, firstAfter } from './conflation-tier.js';
import type { Session } from './session.js';
import { testSession } from './session.test-support.js';

const frame = (seq: number, id: string) =>
  Buffer.from(encodeEventFrame('aircraft', seq, 1_700_000_000_000 + seq, `{"id":"${id}","v":${seq}}`));
const seqOf = (f: Buffer) => (JSON.parse(f.toString()) as { seq: number }).seq;

/**
 * A fake uWS app (topics) and socket per session, recording what each
 * client received in order: sends to it, and publishes to topics it was
 * subscribed to at the time.
 */
function harness(sliceBytes = 1 << 20, budget = 1 << 20) {
  const subscribed = new Map<Session, Set<string>>();
  const received = new Map<Session, number[]>();
  const paced: { session: Session; frames: readonly Buffer[]; then: (sent: boolean) => void }[] = [];
  const continued: { session: Session; seq: number }[] = [];
  let seq = 0;
  const connect = (id: number): Session => {
    const session = testSession(id);
    const topics = new Set<string>();
    subscribed.set(session, topics);
    received.set(session, []);
    session.ws = {
      subscribe: (t: string) => topics.add(t),
      send: (f: Buffer) => received.get(session)?.push(seqOf(f)),
      cork: (fn: () => void) => fn(),
      getBufferedAmount: () => 0,
    } as never;
    return session;
  };
  const deps: ConflationTierDeps = {
    app: {
      publish: (topic: string, f: unknown) => {
        for (const [s, topics] of subscribed) if (topics.has(topic)) received.get(s)?.push(seqOf(f as Buffer));
        return true;
      },
      numSubscribers: (topic: string) => [...subscribed.values()].filter((t) => t.has(topic)).length,
    },
    pacer: {
      fits: (_s, bytes) => bytes <= budget,
      send: (session, frames, then) => {
        paced.push({ session, frames, then });
        return false;
      },
      sentOutside: () => undefined,
    },
    seq: () => seq,
    epoch: () => 0,
    sliceBytes,
    published: () => undefined,
    continueFrom: (session, s) => continued.push({ session, seq: s }),
  };
  const tier = new ConflationTier('aircraft', 5000, deps);
  const event = (id: string) => {
    seq++;
    tier.onEvent(seq, frame(seq, id), { id, removed: false });
  };
  return { tier, connect, received, subscribed, paced, continued, event, seq: () => seq };
}

describe('ConflationTier', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('publishes each changed entity once per flush, and a client attached at the boundary gets exactly what follows', () => {
    vi.useFakeTimers();
    const h = harness();
    const a = h.connect(1);
    h.tier.attach(a, h.seq()); // activates the tier at seq 0, subscribed at once
    expect(h.subscribed.get(a)?.has('aircraft/conflate/5000')).toBe(true);
    for (const id of ['x', 'y', 'x', 'z', 'x']) h.event(id);
    h.tier.tick();
    expect(h.received.get(a)).toEqual([2, 4, 5]);
    h.event('y');
    h.tier.tick();
    expect(h.received.get(a)).toEqual([2, 4, 5, 6]);
    h.tier.stop();
  });

  it('a client attached between flushes waits, then gets the flush events after its position, then the next flushes', () => {
    vi.useFakeTimers();
    const h = harness();
    const a = h.connect(1);
    h.tier.attach(a, 0);
    for (const id of ['x', 'y', 'z']) h.event(id); // 1 2 3
    const b = h.connect(2);
    h.tier.attach(b, 2); // has everything up to 2 (a snapshot at 2, say)
    expect(h.tier.waiting).toBe(1);
    h.event('x'); // 4
    h.event('w'); // 5: ahead of b's position too
    const c = h.connect(3);
    h.tier.attach(c, 5);
    h.tier.tick(); // flush of (0, 5]: y@2 z@3 x@4 w@5
    expect(h.received.get(a)).toEqual([2, 3, 4, 5]);
    expect(h.received.get(b)).toEqual([3, 4, 5]); // nothing at or below 2, nothing twice
    expect(h.received.get(c)).toEqual([]); // at the boundary: subscribed, nothing sent
    expect(h.tier.waiting).toBe(0);
    h.event('y'); // 6
    h.tier.tick();
    for (const s of [a, b, c]) expect(h.received.get(s)?.at(-1)).toBe(6);
    h.tier.stop();
  });

  it('a waiter whose events do not fit its budget is paced, then continues from the flush end through the catch-up', () => {
    vi.useFakeTimers();
    const h = harness(1 << 20, 10);
    const a = h.connect(1);
    h.tier.attach(a, 0);
    h.event('x');
    const b = h.connect(2);
    h.tier.attach(b, 1);
    h.event('y');
    h.event('z');
    h.tier.tick();
    expect(h.paced.map((p) => p.frames.map(seqOf))).toEqual([[2, 3]]);
    expect(h.subscribed.get(b)?.size).toBe(0);
    h.paced[0]?.then(true);
    expect(h.continued).toEqual([{ session: b, seq: 3 }]);
    h.tier.stop();
  });

  it('publishes a large flush in slices, and releases waiters only once the whole flush is out', () => {
    vi.useFakeTimers();
    const one = frame(1, 'e0').length;
    const h = harness(one * 3);
    const a = h.connect(1);
    h.tier.attach(a, 0);
    for (let i = 0; i < 10; i++) h.event(`e${i}`);
    const b = h.connect(2);
    h.tier.attach(b, 10);
    h.tier.tick();
    expect(h.received.get(a)).toEqual([1, 2, 3]);
    h.event('e0'); // 11: for the next flush, never this one
    vi.advanceTimersByTime(20);
    expect(h.received.get(a)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.subscribed.get(b)?.size).toBe(0);
    vi.advanceTimersByTime(40);
    expect(h.received.get(a)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(h.subscribed.get(b)?.size).toBe(1);
    expect(h.received.get(b)).toEqual([]);
    h.tier.tick();
    expect(h.received.get(a)?.at(-1)).toBe(11);
    expect(h.received.get(b)).toEqual([11]);
    h.tier.stop();
  });

  it('restart drops the buffer and returns the waiters; an idle tier stops and restarts from the follower', () => {
    vi.useFakeTimers();
    const h = harness();
    const a = h.connect(1);
    h.tier.attach(a, 0);
    h.event('x');
    const b = h.connect(2);
    h.tier.attach(b, 1);
    expect(h.tier.restart()).toEqual([b]);
    h.tier.tick(); // nothing buffered, nothing new: nothing published
    expect(h.received.get(a)).toEqual([]);
    // Nobody listens any more: the next tick makes the tier idle.
    h.subscribed.get(a)?.clear();
    h.tier.tick();
    expect(h.tier.isActive).toBe(false);
    h.event('y'); // not buffered while idle
    const c = h.connect(3);
    h.tier.attach(c, h.seq());
    expect(h.tier.isActive).toBe(true);
    expect(h.subscribed.get(c)?.size).toBe(1);
    h.tier.stop();
  });

  it('firstAfter finds the first seq above a position', () => {
    const list = [2, 4, 7].map((seq) => ({ seq, frame: Buffer.alloc(0) }));
    expect([0, 2, 3, 4, 6, 7, 9].map((s) => firstAfter(list, s))).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });
});
