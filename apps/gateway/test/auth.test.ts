import { CloseCode } from '@hydra/protocol';
import type { GatewayProcess } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamFixture, withKey } from './fixture.js';

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
