import { CloseCode } from '@hydra/protocol';
import { type GatewayProcess, ScopeTracker, StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('resume, resync and chunked snapshots', () => {
  let f: StreamFixture;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    // Short history for signals so an old position falls out of it.
    f = await StreamFixture.start({ retention: 'signals:history=20' });
    [a, b] = await Promise.all([f.gateway({ HYDRA_SNAPSHOT_CHUNK_BYTES: String(64 * 1024) }), f.gateway()]);
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('resumes on the other gateway with exactly the missed events, then live, and no snapshot', async () => {
    const k = await f.key(['aircraft', 'vessels']);
    const tracker = new ScopeTracker();
    const first = f.client(withKey(a.url, k.key));
    await first.waitFor((m) => m.type === 'snapshot', 2);
    for (let i = 0; i < 5; i++) await f.publish('aircraft', { id: `r${i}`, lat: i, lon: i });
    await first.waitFor((m) => m.type === 'aircraft', 5);
    await first.close();
    for (const m of first.messages) tracker.apply(m);
    const resumeFrom = tracker.last.get('aircraft') as number;

    const missed: number[] = [];
    for (let i = 0; i < 30; i++) missed.push(await f.publish('aircraft', { id: `m${i}`, lat: 1, lon: 1 }));
    const second = f.client(withKey(b.url, k.key, `&resume=${tracker.resumeParam()}`));
    await second.waitFor((m) => m.type === 'aircraft', missed.length);
    const live = await f.publish('aircraft', { id: 'live', lat: 2, lon: 2 });
    await second.waitFor((m) => m.type === 'aircraft' && m.seq === live);
    for (const m of second.messages) tracker.apply(m);

    expect(second.ofType('snapshot')).toEqual([]);
    expect(second.ofType('resync')).toEqual([]);
    expect(second.ofType('aircraft').map((m) => m.seq)).toEqual([...missed, live]);
    expect(missed[0]).toBe(resumeFrom + 1);
    expect(tracker.problems).toEqual([]);
    await second.close();
  });

  it('answers a position older than the history with resync and a fresh snapshot', async () => {
    const k = await f.key(['signals']);
    const old = await f.publish('signals', { kind: 'rf', label: 'old' });
    // Past both the history (20 events here) and the gateway's ring of recent events (4096),
    // either of which could otherwise still replay the position exactly.
    for (let batch = 0; batch < 5; batch++) {
      await f.backplane.bus.publish(
        Array.from({ length: 1000 }, (_, i) => ({ scope: 'signals' as const, data: { label: `n${batch}-${i}` } })),
      );
    }
    const c = f.client(withKey(a.url, k.key, `&resume=signals:${old}`));
    const [snapshot] = await c.waitFor((m) => m.type === 'snapshot');
    const resyncIndex = c.messages.findIndex((m) => m.type === 'resync');
    expect(c.messages[resyncIndex]?.data).toEqual({ scope: 'signals', reason: 'history_gone' });
    expect(c.messages.indexOf(snapshot as never)).toBeGreaterThan(resyncIndex);
    const live = await f.publish('signals', { kind: 'rf', label: 'after' });
    await c.waitFor((m) => m.type === 'signals' && m.seq === live);
    await c.close();
  });

  it('resumes only the scopes it names: replay for those, a snapshot for each other scope of the key, then live', async () => {
    const k = await f.key(['signals', 'aircraft', 'alerts']);
    const seen = await f.publish('signals', { kind: 'rf', label: 'seen' });
    await f.publish('aircraft', { id: 'partial-1', lat: 1, lon: 1 });
    const missed = [
      await f.publish('signals', { kind: 'rf', label: 'missed-1' }),
      await f.publish('signals', { kind: 'rf', label: 'missed-2' }),
    ];
    const alert = await f.publish('alerts', { headline: 'partial resume' });

    const c = f.client(withKey(b.url, k.key, `&resume=signals:${seen}`));
    await c.until(
      () =>
        c.ofType('signals').length >= missed.length &&
        ['aircraft', 'alerts'].every((s) =>
          c.ofType('snapshot').some((m) => (m.data as { scope: string; complete: boolean }).scope === s),
        ),
      10_000,
      'the replay of signals and the snapshots of aircraft and alerts',
    );
    const snapshots = c.ofType('snapshot').map((m) => m.data as { scope: string; seq: number; complete: boolean });
    expect(snapshots.map((s) => s.scope).sort()).toEqual(['aircraft', 'alerts']);
    expect(snapshots.every((s) => s.complete)).toBe(true);
    expect(snapshots.find((s) => s.scope === 'alerts')?.seq).toBeGreaterThanOrEqual(alert);
    expect(c.ofType('signals').map((m) => m.seq)).toEqual(missed);
    expect(c.ofType('signals').map((m) => (m.data as { label: string }).label)).toEqual(['missed-1', 'missed-2']);
    expect(c.ofType('resync')).toEqual([]);

    const live = {
      signals: await f.publish('signals', { kind: 'rf', label: 'live' }),
      aircraft: await f.publish('aircraft', { id: 'partial-2', lat: 2, lon: 2 }),
      alerts: await f.publish('alerts', { headline: 'live' }),
    };
    await c.until(
      () => Object.entries(live).every(([scope, seq]) => c.ofType(scope).some((m) => m.seq === seq)),
      10_000,
      'a live event of every scope',
    );
    const tracker = new ScopeTracker();
    tracker.last.set('signals', seen);
    for (const m of c.messages) tracker.apply(m);
    expect(tracker.problems).toEqual([]);
    expect(c.ofType('signals').map((m) => m.seq)).toEqual([...missed, live.signals]);
    expect(c.ofType('snapshot')).toHaveLength(2);
    await c.close();
  });

  it.each([
    ['a future position', (seq: number) => `signals:${seq + 1000}`, /ahead of the stream/],
    ['a malformed position', () => 'signals:abc', /not <scope>:<seq>/],
    ['an unknown scope', () => 'planes:1', /unknown scope/],
    ['a scope the key lacks', () => 'cyber:1', /does not grant scope cyber/],
  ])('answers %s with an error and close 4002', async (_what, position, reason) => {
    const k = await f.key(['signals']);
    const seq = await f.publish('signals', { kind: 'rf', label: 'x' });
    const c = f.client(withKey(b.url, k.key, `&resume=${position(seq)}`));
    const { code } = await c.closed;
    expect(code).toBe(CloseCode.BadRequest);
    const errors = c.ofType('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.data).toMatchObject({ code: 'bad_request' });
    expect((errors[0]?.data as { message: string }).message).toMatch(reason);
  });

  it('sends a 20,000-entity scope as snapshot parts under the configured size, all at one seq', async () => {
    for (let batch = 0; batch < 20; batch++) {
      await f.backplane.bus.publish(
        Array.from({ length: 1000 }, (_, i) => ({
          scope: 'vessels' as const,
          data: { id: String(200_000_000 + batch * 1000 + i), name: `VESSEL ${batch}-${i}`, lat: 50, lon: 1 },
        })),
      );
    }
    const k = await f.key(['vessels']);
    const c = f.client(withKey(a.url, k.key));
    const [last] = await c.until(
      () => {
        const done = c.messages.filter((m) => m.type === 'snapshot' && (m.data as { complete: boolean }).complete);
        return done.length > 0 ? done : undefined;
      },
      20_000,
      'the complete snapshot',
    );
    const parts = c
      .ofType('snapshot')
      .map((m) => m.data as { seq: number; part: number; parts: number; items: { id: string }[] });
    const raw = c.rawSizes.filter((_, i) => c.messages[i]?.type === 'snapshot');
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((p) => p.part)).toEqual(parts.map((_, i) => i + 1));
    // Only the last part says complete.
    expect(parts.map((p) => (p as { complete?: boolean }).complete)).toEqual(
      parts.map((_, i) => i === parts.length - 1),
    );
    expect(new Set(parts.map((p) => p.seq)).size).toBe(1);
    expect(new Set(parts.map((p) => p.parts))).toEqual(new Set([parts.length]));
    for (const size of raw) expect(size).toBeLessThanOrEqual(64 * 1024);
    const ids = parts.flatMap((p) => p.items.map((i) => i.id));
    expect(new Set(ids).size).toBeGreaterThanOrEqual(20_000);
    expect(last).toBeDefined();
    await c.close();
  });
});
