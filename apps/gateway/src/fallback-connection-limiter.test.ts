import { MemoryConnectionLimiter, MemoryLimiterState } from '@hydra/backplane';
import { describe, expect, it } from 'vitest';
import { FallbackConnectionLimiter } from './fallback-connection-limiter.js';

/** A memory limiter that can be made to fail like Redis gone. */
function failingInner(state: MemoryLimiterState, nodeId: string) {
  const inner = new MemoryConnectionLimiter(state, { nodeId, maxPerIp: 3, leaseMs: 60_000 });
  const down = { value: false };
  const wrap = {
    acquire: (ip: string) => (down.value ? Promise.reject(new Error('down')) : inner.acquire(ip)),
    release: (ip: string) => (down.value ? Promise.reject(new Error('down')) : inner.release(ip)),
    releaseAll: () => inner.releaseAll(),
    close: () => inner.close(),
  };
  return { wrap, down };
}

describe('FallbackConnectionLimiter', () => {
  it('decides in the inner limiter while it answers', async () => {
    const state = new MemoryLimiterState();
    const { wrap } = failingInner(state, 'a');
    const local: boolean[] = [];
    const limiter = new FallbackConnectionLimiter(wrap, {
      maxPerIp: 3,
      isHealthy: () => true,
      onLocalDecision: (g) => local.push(g),
    });
    const other = new FallbackConnectionLimiter(failingInner(state, 'b').wrap, { maxPerIp: 3, isHealthy: () => true });
    expect((await limiter.acquire('ip')).granted).toBe(true);
    expect((await other.acquire('ip')).granted).toBe(true);
    expect((await other.acquire('ip')).granted).toBe(true);
    expect((await limiter.acquire('ip')).granted).toBe(false); // cluster-wide 3
    expect(local).toEqual([]);
    await Promise.all([limiter.close(), other.close()]);
  });

  it('while the inner limiter fails: caps per node, releases locally, then re-acquires local slots in the inner one', async () => {
    const state = new MemoryLimiterState();
    const { wrap, down } = failingInner(state, 'a');
    let healthy = true;
    const local: boolean[] = [];
    const limiter = new FallbackConnectionLimiter(wrap, {
      maxPerIp: 3,
      isHealthy: () => healthy,
      reconcileIntervalMs: 60_000,
      onLocalDecision: (g) => local.push(g),
    });
    const other = failingInner(state, 'b').wrap;
    expect((await limiter.acquire('ip')).granted).toBe(true); // via the inner limiter
    down.value = true;
    expect((await limiter.acquire('ip')).granted).toBe(true); // inner fails under the call: local
    healthy = false;
    expect((await limiter.acquire('ip')).granted).toBe(true); // unhealthy: local at once
    expect((await limiter.acquire('ip')).granted).toBe(false); // this node holds 3: the per-node cap
    expect(local).toEqual([true, true, false]);
    expect(limiter.localSlots).toBe(2);
    await limiter.release('ip'); // a local slot goes first, without the inner limiter
    expect(limiter.localSlots).toBe(1);

    // Back: the remaining local slot is re-acquired in the inner limiter and counts cluster-wide.
    down.value = false;
    healthy = true;
    await limiter.reconcile();
    expect(limiter.localSlots).toBe(0);
    expect((await other.acquire('ip')).granted).toBe(true);
    expect((await other.acquire('ip')).granted).toBe(false); // a:2 + b:1 = 3
    await limiter.release('ip');
    await limiter.release('ip');
    await limiter.release('ip'); // one more than held: a no-op
    expect((await other.acquire('ip')).granted).toBe(true);
    expect((await other.acquire('ip')).granted).toBe(true);
    await Promise.all([limiter.close(), other.close()]);
  });

  it('keeps a local slot local while its IP is at the cluster-wide limit, and retries', async () => {
    const state = new MemoryLimiterState();
    const { wrap, down } = failingInner(state, 'a');
    const limiter = new FallbackConnectionLimiter(wrap, {
      maxPerIp: 3,
      isHealthy: () => !down.value,
      reconcileIntervalMs: 60_000,
    });
    const other = failingInner(state, 'b').wrap;
    down.value = true;
    expect((await limiter.acquire('ip')).granted).toBe(true);
    down.value = false;
    for (let i = 0; i < 3; i++) expect((await other.acquire('ip')).granted).toBe(true);
    await limiter.reconcile();
    expect(limiter.localSlots).toBe(1); // refused: stays local
    await other.release('ip');
    await limiter.reconcile();
    expect(limiter.localSlots).toBe(0);
    expect((await other.acquire('ip')).granted).toBe(false);
    await Promise.all([limiter.close(), other.close()]);
  });
});
