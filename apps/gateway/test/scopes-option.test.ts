import { CloseCode, type Scope } from '@hydra/protocol';
import { type GatewayProcess, ScopeTracker, StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Scope narrowing (`scopes=`, scope-narrowing.ts): a connection takes a
 * subset of its key's scopes. `connected` lists what it gets; snapshot,
 * replay and live events follow the subset; anything else is refused with
 * `error` + 4002 naming the option. Two gateways on one Redis, so a resume
 * can land on the other replica.
 */
describe('scopes= (scope narrowing)', () => {
  let f: StreamFixture;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const KEY_SCOPES: Scope[] = ['signals', 'aircraft', 'alerts', 'cyber'];

  beforeAll(async () => {
    f = await StreamFixture.start();
    [a, b] = await Promise.all([f.gateway(), f.gateway()]);
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('serves only the scopes asked for: connected lists them (in the key order), snapshots and live events follow', async () => {
    const { key } = await f.key(KEY_SCOPES);
    await f.publish('signals', { kind: 'rf', label: 'before' });
    await f.publish('aircraft', { id: 'n1', lat: 1, lon: 1 });
    await f.publish('alerts', { headline: 'before' });
    await f.publish('cyber', { title: 'before' });
    const c = await f.connectedClient(withKey(a.url, key, '&scopes=alerts,aircraft'));
    expect(c.messages[0]?.data).toEqual({ scopes: ['aircraft', 'alerts'], ts: expect.any(Number) });
    await c.waitFor((m) => m.type === 'snapshot', 2);

    // Live: one event per scope of the key, the narrowed client's last one published last.
    await f.publish('signals', { kind: 'rf', label: 'live' });
    await f.publish('cyber', { title: 'live' });
    await f.publish('aircraft', { id: 'n1', lat: 2, lon: 2 });
    const lastAlert = await f.publish('alerts', { headline: 'live' });
    await c.waitFor((m) => m.type === 'alerts' && m.seq === lastAlert);

    const types = new Set(c.messages.map((m) => m.type));
    expect([...types].sort()).toEqual(['aircraft', 'alerts', 'connected', 'snapshot']);
    const snapshotScopes = c.ofType('snapshot').map((m) => (m.data as { scope: string }).scope);
    expect(snapshotScopes.sort()).toEqual(['aircraft', 'alerts']);
    expect(c.ofType('aircraft')).toHaveLength(1);
    await c.close();
  });

  it('without the option a connection gets every scope of its key, as before', async () => {
    const { key } = await f.key(KEY_SCOPES);
    const c = await f.connectedClient(withKey(a.url, key, '&snapshot=false'));
    expect(c.messages[0]?.data).toEqual({ scopes: KEY_SCOPES, ts: expect.any(Number) });
    await c.close();
  });

  it('naming every scope of the key is the same as naming none', async () => {
    const { key } = await f.key(['aircraft', 'alerts']);
    const c = await f.connectedClient(withKey(a.url, key, '&snapshot=false&scopes=alerts,aircraft'));
    expect(c.messages[0]?.data).toEqual({ scopes: ['aircraft', 'alerts'], ts: expect.any(Number) });
    await c.close();
  });

  it.each([
    ['scopes=aircraft,vessels', 'scopes: the key does not grant scope vessels'],
    ['scopes=planes', 'scopes: unknown scope "planes"'],
    ['scopes=', 'scopes: empty list (omit the option to get every scope of the key)'],
    ['scopes=aircraft,,alerts', 'scopes: empty item in the list'],
    ['scopes=aircraft,aircraft', 'scopes: aircraft given twice'],
    ['scopes=aircraft&resume=alerts:0', 'resume: scope alerts is not in the scopes option'],
  ])('refuses %s with error + 4002 naming the option, and serves nothing', async (option, message) => {
    const { key } = await f.key(KEY_SCOPES);
    const c = f.client(withKey(a.url, key, `&${option}`));
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.BadRequest);
    expect(c.messages).toEqual([{ type: 'error', data: { code: 'bad_request', message } }]);
  });

  it('resumes on the other replica with the same option: exactly the missed events of its scopes, then live', async () => {
    const { key } = await f.key(KEY_SCOPES);
    const tracker = new ScopeTracker();
    const first = f.client(withKey(a.url, key, '&scopes=aircraft,alerts'));
    await first.waitFor((m) => m.type === 'snapshot', 2);
    const seenAlert = await f.publish('alerts', { headline: 'seen' });
    await first.waitFor((m) => m.type === 'alerts' && m.seq === seenAlert);
    await first.close();
    for (const m of first.messages) tracker.apply(m);
    expect([...tracker.last.keys()].sort()).toEqual(['aircraft', 'alerts']);

    const missedAircraft = [await f.publish('aircraft', { id: 'm1', lat: 1, lon: 1 })];
    await f.publish('signals', { kind: 'rf', label: 'not asked' });
    const missedAlerts = [await f.publish('alerts', { headline: 'missed' })];
    await f.publish('cyber', { title: 'not asked' });

    const second = f.client(withKey(b.url, key, `&scopes=aircraft,alerts&resume=${tracker.resumeParam()}`));
    await second.waitFor((m) => m.type === 'alerts' && m.seq === missedAlerts[0]);
    await f.publish('signals', { kind: 'rf', label: 'live, not asked' });
    const liveAircraft = await f.publish('aircraft', { id: 'm1', lat: 2, lon: 2 });
    await second.waitFor((m) => m.type === 'aircraft' && m.seq === liveAircraft);
    for (const m of second.messages) tracker.apply(m);

    expect(second.messages[0]?.data).toEqual({ scopes: ['aircraft', 'alerts'], ts: expect.any(Number) });
    expect(second.ofType('snapshot')).toEqual([]);
    expect(second.ofType('resync')).toEqual([]);
    expect(second.ofType('aircraft').map((m) => m.seq)).toEqual([...missedAircraft, liveAircraft]);
    expect(second.ofType('alerts').map((m) => m.seq)).toEqual(missedAlerts);
    expect(second.ofType('signals')).toEqual([]);
    expect(second.ofType('cyber')).toEqual([]);
    expect(tracker.problems).toEqual([]);
    await second.close();
  });
});
