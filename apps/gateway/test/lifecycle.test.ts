import { CloseCode } from '@hydra/protocol';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('gateway lifecycle: pings, drain, admin port, uWS build check', () => {
  let f: StreamFixture;

  beforeAll(async () => {
    f = await StreamFixture.start();
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('sends protocol pings at the configured interval under continuous traffic', async () => {
    const gw = await f.gateway({ HYDRA_PING_INTERVAL_MS: '300' });
    const k = await f.key(['signals']);
    const c = f.client(withKey(gw.url, k.key, '&snapshot=false'));
    await c.waitFor((m) => m.type === 'connected');
    let publishing = true;
    const traffic = (async () => {
      for (let i = 0; publishing && i < 20_000; i++) await f.publish('signals', { kind: 'rf', label: `t${i}` });
    })();
    await c.until(() => c.pingTimes.length >= 6, 10_000, 'six pings');
    publishing = false;
    await traffic;
    expect(c.ofType('signals').length).toBeGreaterThan(10);
    const gaps = c.pingTimes.slice(1).map((t, i) => t - (c.pingTimes[i] as number));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(150);
      expect(gap).toBeLessThan(900);
    }
    await c.close();
  });

  it('starts while live events are already flowing (events arrive before it listens)', async () => {
    let publishing = true;
    const traffic = (async () => {
      for (let i = 0; publishing && i < 50_000; i++) await f.publish('signals', { kind: 'rf', label: `pre${i}` });
    })();
    try {
      for (let i = 0; i < 3; i++) {
        const gw = await f.gateway();
        const k = await f.key(['signals']);
        const c = f.client(withKey(gw.url, k.key));
        await c.waitFor((m) => m.type === 'signals', 3);
        await c.close();
      }
    } finally {
      publishing = false;
      await traffic;
    }
  });

  it('drops a client that stops answering pings', async () => {
    const gw = await f.gateway({ HYDRA_PING_INTERVAL_MS: '200' });
    const k = await f.key(['signals']);
    const healthy = f.client(withKey(gw.url, k.key));
    const silent = f.client(withKey(gw.url, k.key), { autoPong: false });
    await Promise.all([healthy, silent].map((c) => c.waitFor((m) => m.type === 'connected')));
    const { code } = await silent.closed;
    expect(code).toBe(1006); // dropped without a close handshake
    expect(silent.pingTimes.length).toBeGreaterThanOrEqual(1);
    await healthy.until(() => healthy.pingTimes.length >= 3, 5000, 'pings');
    expect(healthy.closeCode).toBeNull();
    const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/^hydra_dead_peers_total 1$/m);
    await healthy.close();
  });

  it('on SIGTERM fails readiness, closes clients with 1001, releases slots and exits 0 within the drain window', async () => {
    const gw = await f.gateway({ HYDRA_DRAIN_MS: '1000', HYDRA_LIMITER_LEASE_MS: '60000' });
    const other = await f.gateway();
    const k = await f.key(['signals']);
    const ip = '127.0.30.1';
    const clients = Array.from({ length: 10 }, () => f.client(withKey(gw.url, k.key), { localAddress: ip }));
    await Promise.all(clients.map((c) => c.waitFor((m) => m.type === 'connected')));
    expect((await fetch(`http://127.0.0.1:${gw.adminPort}/readyz`)).status).toBe(200);

    const started = performance.now();
    gw.kill('SIGTERM');
    const closes = await Promise.all(clients.map((c) => c.closed));
    expect(closes.map((c) => c.code)).toEqual(Array(10).fill(CloseCode.GoingAway));
    expect(await gw.exited).toBe(0);
    expect(performance.now() - started).toBeLessThan(1000 + 3000);

    // The drained gateway's slots are free at once (not after the 60 s lease).
    const fresh = Array.from({ length: 10 }, () => f.client(withKey(other.url, k.key), { localAddress: ip }));
    await Promise.all(fresh.map((c) => c.waitFor((m) => m.type === 'connected')));
    await Promise.all(fresh.map((c) => c.close()));
  });

  it('drops a slow consumer at its send-buffer limit while others keep receiving everything', async () => {
    const gw = await f.gateway({ HYDRA_MAX_BUFFERED_BYTES: String(64 * 1024) });
    const k = await f.key(['signals']);
    const healthy = f.client(withKey(gw.url, k.key, '&snapshot=false'), { localAddress: '127.0.31.1' });
    const slow = f.client(withKey(gw.url, k.key, '&snapshot=false'), { localAddress: '127.0.31.2' });
    await Promise.all([healthy, slow].map((c) => c.waitFor((m) => m.type === 'connected')));
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const padding = 'x'.repeat(4000);
    const admin = `http://127.0.0.1:${gw.adminPort}/metrics`;
    let published = 0;
    // Bounded: at most 12 MB through the gateway, well past loopback socket buffers plus the 64 KiB limit.
    while (published < 3000) {
      await f.backplane.bus.publish(
        Array.from({ length: 100 }, (_, i) => ({
          scope: 'signals' as const,
          data: { label: `p${published + i}`, padding },
        })),
      );
      published += 100;
      if (/^hydra_connections 1$/m.test(await (await fetch(admin)).text())) break;
    }
    await healthy.until(
      () => healthy.ofType('signals').length === published,
      15_000,
      'every event at the healthy client',
    );
    const text = await (await fetch(admin)).text();
    expect(text).toMatch(/^hydra_connections 1$/m);
    expect(text).toMatch(/^hydra_connections_closed_total\{code="(1006|4000)"\} 1$/m);
    const seqs = healthy.ofType('signals').map((m) => m.seq as number);
    expect(seqs).toEqual(Array.from({ length: published }, (_, i) => (seqs[0] as number) + i));
    await healthy.close();
  });

  it('serves /healthz, /readyz and Prometheus /metrics on the admin port', async () => {
    const gw = await f.gateway();
    const admin = `http://127.0.0.1:${gw.adminPort}`;
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    const k = await f.key(['signals']);
    const c = f.client(withKey(gw.url, k.key));
    await c.waitFor((m) => m.type === 'snapshot');
    await f.publish('signals', { kind: 'rf', label: 'metric me' });
    await c.waitFor((m) => m.type === 'signals');
    const res = await fetch(`${admin}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^hydra_connections 1$/m);
    expect(text).toMatch(/^hydra_messages_delivered_total\{scope="signals"\} [1-9]/m);
    expect(text).toContain('hydra_delivery_latency_seconds_bucket');
    expect(text).not.toContain(k.key);
    expect((await fetch(`${admin}/nope`)).status).toBe(404);
    await c.close();
  });

  it('refuses to start on the pure-JS uWS fallback unless allowed', async () => {
    const refused = f.spawnGateway({ UWS_USE_FALLBACK: '1' });
    expect(await refused.exited).toBe(1);
    expect(refused.logs.map((l) => String(l.err && (l.err as { message: string }).message)).join('\n')).toMatch(
      /HYDRA_ALLOW_UWS_FALLBACK/,
    );
  });

  it('starts on the forced pure-JS fallback when HYDRA_ALLOW_UWS_FALLBACK=true: warns, serves /healthz', async () => {
    const allowed = f.spawnGateway({ UWS_USE_FALLBACK: '1', HYDRA_ALLOW_UWS_FALLBACK: 'true' });
    try {
      const warning = await allowed.waitForLog((l) => /pure-JS uWebSockets\.js fallback/.test(String(l.msg)));
      expect(warning.level).toBe(40); // pino "warn"
      const listening = await allowed.waitForLog((l) => l.msg === 'listening');
      const res = await fetch(`http://127.0.0.1:${listening.adminPort}/healthz`);
      expect(res.status).toBe(200);
      // The stream port answers too, on the fallback.
      expect((await fetch(`http://127.0.0.1:${listening.port}/nope`)).status).toBe(404);
      expect(allowed.child.exitCode).toBeNull();
    } finally {
      await allowed.stop();
    }
  });

  it('stops at start with a message naming a bad variable', async () => {
    const bad = f.spawnGateway({ HYDRA_PING_INTERVAL_MS: 'often' });
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(/HYDRA_PING_INTERVAL_MS must be an integer/);
  });
});
