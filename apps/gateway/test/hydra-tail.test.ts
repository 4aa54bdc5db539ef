import { StreamFixture, spawnService, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

/** `hydra tail` (apps/cli/dist/cli.js) as a real process against real gateways. */
describe('hydra tail against a running gateway', () => {
  let f: StreamFixture;

  beforeAll(async () => {
    f = await StreamFixture.start();
  });
  afterAll(async () => {
    await f?.stop();
  });

  const tail = (url: string, key: string, extra: string[] = []) =>
    spawnService('apps/cli/dist/cli.js', {}, ['tail', '--url', url, '--key', key, '--rate-interval', '0', ...extra]);

  it('shows snapshot summaries and one line per event, and exits 3 with the reason when the key is revoked', async () => {
    const gw = await f.gateway();
    await f.publish('aircraft', { id: '4ca2d1', callsign: 'EIN123', lat: 53.42, lon: -6.27, altBaroFt: 37000 });
    const k = await f.key(['aircraft', 'alerts']);
    const t = tail(gw.url, k.key);
    onTestFinished(() => t.stop());
    await t.waitForLog((l) => /snapshot aircraft seq=\d+ items=1/.test(String(l.msg)));
    await t.waitForLog((l) => /snapshot alerts seq=\d+ items=0/.test(String(l.msg)));
    await f.publish('alerts', {
      identifier: 'EX-1',
      severity: 'Severe',
      event: 'Flood',
      headline: 'River flood warning',
    });
    await f.publish('aircraft', {
      id: '3c6444',
      callsign: 'DLH4AB',
      lat: 50.03,
      lon: 8.57,
      altBaroFt: 37000,
      groundSpeedKt: 452,
    });
    await t.waitForLog((l) => /alerts #\d+ Severe River flood warning/.test(String(l.msg)));
    await t.waitForLog((l) => /aircraft #\d+ 3c6444 DLH4AB 50\.03,8\.57 FL370 452kt/.test(String(l.msg)));

    await f.backplane.keys.revoke(k.id);
    expect(await t.exited).toBe(3);
    expect(t.stderr()).toMatch(/unauthorized/);
    expect(t.stderr()).not.toContain(k.key);
  });

  it('--bbox shows only the aircraft in the box, a left_area removal when one leaves, and no gap warning', async () => {
    const gw = await f.gateway();
    const k = await f.key(['aircraft']);
    const t = spawnService('apps/cli/dist/cli.js', {}, [
      'tail',
      '--url',
      gw.url,
      '--key',
      k.key,
      '--rate-interval',
      '0',
      '--bbox',
      '-10,50,-2,56',
    ]);
    onTestFinished(() => t.stop());
    await t.waitForLog((l) => /snapshot aircraft seq=\d+ items=\d+/.test(String(l.msg)));
    await f.publish('aircraft', { id: 'far1', callsign: 'FAR1', lat: 40.5, lon: 20.5 });
    await f.publish('aircraft', { id: 'near1', callsign: 'NEAR1', lat: 53.3, lon: -6.2 });
    await f.publish('aircraft', { id: 'far1', callsign: 'FAR1', lat: 40.6, lon: 20.6 });
    await f.publish('aircraft', { id: 'near1', callsign: 'NEAR1', lat: 48.9, lon: 2.5 });
    await t.waitForLog((l) => /aircraft #\d+ near1 NEAR1 53\.30,-6\.20/.test(String(l.msg)));
    await t.waitForLog((l) => /aircraft #\d+ near1 removed \(left_area\)/.test(String(l.msg)));
    expect(t.logs.map((l) => String(l.msg)).join('\n')).not.toContain('far1');
    expect(t.stderr()).not.toMatch(/seq gap/);
  });

  it('exits 4 when the per-IP limit refuses the connection', async () => {
    const gw = await f.gateway({ HYDRA_MAX_CONNECTIONS_PER_IP: '1' });
    const k = await f.key(['signals']);
    const holder = f.client(withKey(gw.url, k.key), { localAddress: '127.0.0.1' });
    await holder.waitFor((m) => m.type === 'connected');
    const t = tail(gw.url, k.key);
    onTestFinished(() => t.stop());
    expect(await t.exited).toBe(4);
    expect(t.stderr()).toMatch(/too many connections/i);
    await holder.close();
  });

  it('--scopes asks the gateway for those scopes only; one the key lacks ends tail with the reason (exit 1)', async () => {
    const gw = await f.gateway();
    const k = await f.key(['aircraft', 'alerts']);
    const t = tail(gw.url, k.key, ['--scopes', 'alerts', '--json']);
    onTestFinished(() => t.stop());
    const connected = await t.waitForLog((l) => l.type === 'connected');
    expect((connected.data as { scopes: string[] }).scopes).toEqual(['alerts']);
    await t.waitForLog((l) => l.type === 'snapshot');
    await f.publish('aircraft', { id: 'not-asked', lat: 1, lon: 1 });
    const seq = await f.publish('alerts', { headline: 'asked' });
    await t.waitForLog((l) => l.type === 'alerts' && l.seq === seq);
    expect(t.logs.filter((l) => l.type === 'aircraft')).toEqual([]);

    const refused = tail(gw.url, k.key, ['--scopes', 'alerts,cyber']);
    onTestFinished(() => refused.stop());
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toContain('scopes: the key does not grant scope cyber');
  });

  it('exits 3 at once for an unknown key', async () => {
    const gw = await f.gateway();
    const t = tail(gw.url, 'hydra_k1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(await t.exited).toBe(3);
  });
});
