import type { ScopeSnapshot, SnapshotStore } from '@hydra/backplane';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics.js';
import { SnapshotCache } from './snapshot-cache.js';

/** A snapshot store whose reads resolve, in order, when the test answers them. */
function controlledStore() {
  const pending: ((snap: ScopeSnapshot) => void)[] = [];
  const store: SnapshotStore = {
    read: () =>
      new Promise<ScopeSnapshot>((resolve) => {
        pending.push(resolve);
      }),
  };
  return {
    store,
    get pending() {
      return pending.length;
    },
    /** Answers the oldest pending read with the backplane's state at `seq`. */
    answer(seq: number): void {
      const resolve = pending.shift();
      if (!resolve) throw new Error('no snapshot read pending');
      resolve({ scope: 'signals', seq, items: [] });
    },
  };
}

const cacheOn = (store: SnapshotStore) =>
  new SnapshotCache('signals', store, new GatewayMetrics({ defaultMetrics: false }), 60_000, 64 * 1024);

describe('SnapshotCache across a restart of the scope sequence', () => {
  // A read in flight when onGap invalidated the cache (Redis restarted empty) used to be shared with the
  // resynchronised clients' joins and stored afterwards: they got the old Redis' state at a seq the new one
  // had not reached, and waited for it silently.
  it('neither shares nor stores a read started before invalidate()', async () => {
    const s = controlledStore();
    const cache = cacheOn(s.store);
    const before = cache.read(); // old Redis, at seq 50
    cache.invalidate(); // the sequence restarted
    const after = cache.get(0); // a resynchronised client's join
    expect(s.pending).toBe(2); // its own read, not the old one
    s.answer(50);
    s.answer(3);
    expect((await before).seq).toBe(50); // its caller still gets its answer…
    expect((await after).seq).toBe(3);
    expect(cache.fresh(0)?.seq).toBe(3); // …but the cache holds the new sequence's snapshot
    expect(cache.fresh(3)?.seq).toBe(3);
  });

  it('never keeps a snapshot ahead of the restarted sequence as the fresh one', async () => {
    const s = controlledStore();
    const cache = cacheOn(s.store);
    const old = cache.read();
    s.answer(50);
    await old;
    expect(cache.fresh(50)?.seq).toBe(50);
    // Without invalidate() (a read that finds the sequence went back): the newest read replaces the cache.
    const restarted = cache.read();
    s.answer(3);
    await restarted;
    expect(cache.fresh(3)?.seq).toBe(3);
    expect(cache.fresh(0)?.seq).toBe(3);
  });

  it('still coalesces concurrent reads of one generation', async () => {
    const s = controlledStore();
    const cache = cacheOn(s.store);
    const a = cache.read();
    const b = cache.get(0);
    expect(s.pending).toBe(1);
    s.answer(7);
    expect(await a).toBe(await b);
    expect(await cache.get(7)).toBe(await a);
    expect(s.pending).toBe(0);
  });
});
