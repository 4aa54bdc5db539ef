import { CloseCode } from '@hydra/protocol';
import type { GatewayProcess } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('authentication, scopes and revocation across two gateways', () => {
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

  const expectUnauthorized = async (url: string, headers?: Record<string, string>) => {
    const c = f.client(url, { headers });
    const { code } = await c.closed;
    expect(code).toBe(CloseCode.Unauthorized);
    const errors = c.ofType('error');
    expect(errors).toHaveLength(1);
    expect(c.messages).toHaveLength(1);
    expect((errors[0]?.data as { code: string }).code).toBe('unauthorized');
    return errors[0]?.data as { message: string };
  };

  it('closes 1008 with an error for a missing key', async () => {
    const data = await expectUnauthorized(a.url);
    expect(data.message).toMatch(/missing/);
  });

  it('closes 1008 for an unknown key, by query and by header, without echoing it', async () => {
    const bogus = 'hydra_k1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const byQuery = await expectUnauthorized(withKey(a.url, bogus));
    const byHeader = await expectUnauthorized(b.url, { 'x-api-key': bogus });
    expect(JSON.stringify([byQuery, byHeader])).not.toContain(bogus);
    await expectUnauthorized(withKey(a.url, 'not-even-a-key'));
  });

  it('closes 1008 for a revoked key and an expired key, by query and by header', async () => {
    const revoked = await f.key(['signals']);
    await f.backplane.keys.revoke(revoked.id);
    await expectUnauthorized(withKey(a.url, revoked.key));
    await expectUnauthorized(b.url, { 'x-api-key': revoked.key });

    const expiring = await f.key(['signals'], 1);
    const c = f.client(withKey(a.url, expiring.key));
    await c.waitFor((m) => m.type === 'connected');
    // The same key, once past its expiry, is refused at connect…
    const { code } = await c.closed; // …and the live connection is closed at expiry.
    expect(code).toBe(CloseCode.Unauthorized);
    expect(c.ofType('error')).toHaveLength(1);
    await expectUnauthorized(withKey(b.url, expiring.key));
    await expectUnauthorized(a.url, { 'x-api-key': expiring.key });
  });

  it('accepts a valid key by header and sends connected with its scopes and ts first', async () => {
    const k = await f.key(['signals', 'alerts']);
    const c = f.client(b.url, { headers: { 'x-api-key': k.key } });
    const [connected] = await c.waitFor((m) => m.type === 'connected');
    expect(c.messages[0]?.type).toBe('connected');
    const data = connected?.data as { scopes: string[]; ts: number };
    expect(data.scopes).toEqual(['signals', 'alerts']);
    expect(Math.abs(data.ts - Date.now())).toBeLessThan(5000);
    await c.close();
  });

  it('delivers only the key’s scopes', async () => {
    const k = await f.key(['signals', 'alerts']);
    const c = f.client(withKey(a.url, k.key, '&snapshot=false'));
    await c.waitFor((m) => m.type === 'connected');
    await f.publish('aircraft', { id: 'abc123', lat: 1, lon: 2 });
    await f.publish('vessels', { id: '244660000', lat: 1, lon: 2 });
    await f.publish('cyber', { kind: 'indicator', value: 'x' });
    await f.publish('signals', { kind: 'rf', label: 'after others' });
    await f.publish('alerts', { identifier: 'last', severity: 'Minor' });
    await c.waitFor((m) => m.type === 'alerts');
    const types = new Set(c.messages.map((m) => m.type));
    expect([...types].sort()).toEqual(['alerts', 'connected', 'signals']);
    await c.close();
  });

  it('a [signals, alerts] key with snapshots, every scope holding state: snapshots and events of those two only', async () => {
    await f.publish('aircraft', { id: 'snap01', lat: 1, lon: 2 });
    await f.publish('vessels', { id: '244660001', lat: 1, lon: 2 });
    await f.publish('cyber', { kind: 'indicator', value: 'snap' });
    await f.publish('signals', { kind: 'rf', label: 'snap' });
    await f.publish('alerts', { identifier: 'snap', severity: 'Minor' });
    const k = await f.key(['signals', 'alerts']);
    const clients = [a, b].map((gw) => f.client(withKey(gw.url, k.key)));
    for (const c of clients) {
      const snapshots = await c.waitFor((m) => m.type === 'snapshot', 2);
      expect(snapshots.map((m) => (m.data as { scope: string }).scope).sort()).toEqual(['alerts', 'signals']);
      for (const m of snapshots) expect((m.data as { items: unknown[] }).items.length).toBeGreaterThan(0);
    }
    // A publish of every scope, alerts last: once it arrives, the others have been fanned out (or not) before it.
    await f.publish('aircraft', { id: 'snap01', lat: 3, lon: 4 });
    await f.publish('vessels', { id: '244660001', lat: 3, lon: 4 });
    await f.publish('cyber', { kind: 'indicator', value: 'live' });
    const signalsSeq = await f.publish('signals', { kind: 'rf', label: 'live' });
    const alertsSeq = await f.publish('alerts', { identifier: 'live', severity: 'Minor' });
    const forbidden = new Set(['aircraft', 'vessels', 'cyber']);
    for (const c of clients) {
      await c.waitFor((m) => m.type === 'alerts' && m.seq === alertsSeq);
      expect(c.messages.some((m) => m.type === 'signals' && m.seq === signalsSeq)).toBe(true);
      // No message of any type (event, snapshot, resync, …) names a scope the key does not grant.
      const leaked = c.messages.filter(
        (m) => forbidden.has(m.type) || forbidden.has(String((m.data as { scope?: unknown } | undefined)?.scope)),
      );
      expect(leaked).toEqual([]);
      expect(c.messages.map((m) => m.type).filter((t) => t !== 'signals' && t !== 'alerts')).toEqual([
        'connected',
        'snapshot',
        'snapshot',
      ]);
      await c.close();
    }
  });

  it('expiry closes live connections on both gateways with 1008 at the expiry instant', async () => {
    // 3 s: long enough that `connected` surely arrives first on a loaded machine.
    const created = await f.backplane.keys.create({ scopes: ['signals'], ttlSeconds: 3, name: 'expiring' });
    const expiresAt = created.record.expiresAt as number;
    const clients = [a, b].map((gw) => f.client(withKey(gw.url, created.key, '&snapshot=false')));
    await Promise.all(clients.map((c) => c.waitFor((m) => m.type === 'connected')));
    const closedAt = await Promise.all(clients.map((c) => c.closed.then(({ code }) => ({ code, at: Date.now() }))));
    for (const [i, { code, at }] of closedAt.entries()) {
      expect(code).toBe(CloseCode.Unauthorized);
      expect(at).toBeGreaterThanOrEqual(expiresAt - 50); // not before (same clock; a few ms of rounding)
      expect(at - expiresAt).toBeLessThanOrEqual(1500);
      expect(clients[i]?.ofType('error')).toHaveLength(1);
    }
  });

  it('revoking a key closes its live connections on both gateways with 1008', async () => {
    const k = await f.key(['signals']);
    const other = await f.key(['signals']);
    const onA = f.client(withKey(a.url, k.key));
    const onB = f.client(withKey(b.url, k.key));
    const bystander = f.client(withKey(b.url, other.key));
    await Promise.all([onA, onB, bystander].map((c) => c.waitFor((m) => m.type === 'connected')));
    await f.backplane.keys.revoke(k.key);
    const [ca, cb] = await Promise.all([onA.closed, onB.closed]);
    expect(ca.code).toBe(CloseCode.Unauthorized);
    expect(cb.code).toBe(CloseCode.Unauthorized);
    expect(onA.ofType('error')).toHaveLength(1);
    await f.publish('signals', { kind: 'osint', label: 'still flowing' });
    await bystander.waitFor((m) => m.type === 'signals');
    expect(bystander.closeCode).toBeNull();
  });

  it('answers 404 on any other path', async () => {
    const res = await fetch(`http://127.0.0.1:${a.port}/v1/other`);
    expect(res.status).toBe(404);
    const ws = f.client(`ws://127.0.0.1:${a.port}/v2/stream`);
    const refusal = await ws.waitForRefusal();
    expect(refusal.status).toBe(404);
  });
});
