import type { EventData, Scope } from '@hydra/protocol';
import { freePort, type GatewayProcess, StreamFixture } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../src/index.js';
import { Log, RecordingClient, range, stateOf } from './sdk-helpers.js';

/** `ws` dialling from `address` (a loopback alias), as the SDK's WebSocket constructor. */
function fromAddress(address: string): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string, options: WebSocket.ClientOptions = {}) {
      super(url, { ...options, localAddress: address });
    }
  } as unknown as WebSocketConstructor;
}

/** Quick retries: the tests' gateways come back within a second or two. */
const BACKOFF = { initialMs: 100, maxMs: 1000, drainMs: 300 };

/**
 * Publishes one aircraft upsert (20 ids) and one alert every few ms until
 * stopped, recording each event in `log`.
 */
function startPublishing(f: StreamFixture, log: Log): { stop: () => Promise<void>; count: () => number } {
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const batch = [
        { scope: 'aircraft' as Scope, data: { id: `a${n % 20}`, lat: n % 90, lon: n % 180, n } as EventData },
        { scope: 'alerts' as Scope, data: { headline: `alert ${n}`, n } as EventData },
      ];
      const published = await f.backplane.bus.publish(batch);
      published.forEach((p, i) => {
        log.record(p.scope, p.seq, (batch[i] as { data: EventData }).data);
      });
      n++;
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
    count: () => n,
  };
}

/** Every event the client emitted for `scope` equals the log from its first snapshot on: no gap, no duplicate. */
function expectExactly(c: RecordingClient, log: Log, scope: Scope): void {
  const first = c.snapshots.find((s) => s.scope === scope);
  expect(first, `a snapshot of ${scope}`).toBeDefined();
  const from = (first?.seq ?? 0) + 1;
  expect(c.seqs(scope)).toEqual(range(from, log.last(scope)));
  for (const e of c.events.filter((e) => e.type === scope)) expect(e.data).toEqual(log.data(scope, e.seq));
}

describe('@hydra/client against real gateways', () => {
  let f: StreamFixture;

  beforeAll(async () => {
    // A short signals history, so a position in it can fall out while the client is away (resync).
    f = await StreamFixture.start({ retention: 'signals:history=20' });
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('resumes across a drain and a restart on the same port while events flow: exactly the log, state equal', async () => {
    const port = await freePort();
    const env = { HYDRA_PORT: String(port), HYDRA_DRAIN_MS: '200' };
    let gw: GatewayProcess = await f.gateway(env);
    const { key } = await f.key(['aircraft', 'alerts']);
    const log = new Log();
    for (let i = 0; i < 30; i++) {
      const seq = await f.publish('aircraft', { id: `a${i % 20}`, lat: 1, lon: i });
      log.record('aircraft', seq, { id: `a${i % 20}`, lat: 1, lon: i });
    }
    const c = new RecordingClient({ url: gw.url, apiKey: key, backoff: BACKOFF });
    await c.until(() => c.snapshots.length === 2, 15_000, 'both snapshots');
    const publishing = startPublishing(f, log);
    await c.until(() => c.events.length >= 50, 15_000, '50 events');

    // Drain: SIGTERM, every client closed with 1001, the process exits; a new one starts on the same port.
    const lastBefore = () => c.lastSeq('aircraft') + c.lastSeq('alerts');
    gw.kill('SIGTERM');
    await c.until(() => c.ofState('reconnecting').length >= 1, 15_000, 'the 1001');
    const dropped = c.ofState('reconnecting')[0] as { at: number; code?: number };
    const deliveredAtDrop = lastBefore();
    expect(dropped.code).toBe(1001);
    await gw.exited;
    gw = await f.gateway(env);
    const listeningAt = performance.now();
    const opensBefore = c.ofState('open').length;
    await c.until(() => c.ofState('open').length > opensBefore, 15_000, 'the resumed connection');
    const reopened = c.ofState('open').at(-1) as { at: number };
    const publishedAtResume = log.last('aircraft') + log.last('alerts');
    await c.until(() => c.events.length >= 300, 15_000, '300 events');

    await publishing.stop();
    await c.until(
      () => c.lastSeq('aircraft') === log.last('aircraft') && c.lastSeq('alerts') === log.last('alerts'),
      15_000,
      'the last published events',
    );
    // No snapshot on the resumed connection: both scopes were replayed from their positions.
    expect(c.snapshots).toHaveLength(2);
    expectExactly(c, log, 'aircraft');
    expectExactly(c, log, 'alerts');
    expect(stateOf(c.client.entities('aircraft'))).toEqual(stateOf(log.entitiesAt('aircraft', log.last('aircraft'))));
    const recent = c.client.recent('alerts');
    expect(recent.at(-1)).toEqual(log.data('alerts', log.last('alerts')));
    expect(recent).toHaveLength(100);

    const resumeMs = Math.round(reopened.at - dropped.at);
    const afterListenMs = Math.round(reopened.at - listeningAt);
    const replayed = publishedAtResume - deliveredAtDrop;
    console.log(
      `drain + restart: resumed ${resumeMs} ms after the 1001 (gateway restart included), ` +
        `${afterListenMs} ms after the new gateway listened, ` +
        `${replayed} events replayed, ${c.events.length} delivered, ${c.ofState('connecting').length} dials`,
    );
    c.client.close();
    await gw.stop();
  });

  it('resumes on another replica from a URL list when its gateway drains', async () => {
    const [a, b] = await Promise.all([f.gateway(), f.gateway()]);
    const { key } = await f.key(['aircraft', 'alerts']);
    const log = new Log();
    // Redis already holds the first test's events: the log starts where they end.
    const c = new RecordingClient({ url: [a.url, b.url], apiKey: key, backoff: BACKOFF });
    await c.until(() => c.snapshots.length === 2, 15_000, 'both snapshots');
    const base = { aircraft: c.lastSeq('aircraft'), alerts: c.lastSeq('alerts') };
    const publishing = startPublishing(f, log);
    await c.until(() => c.events.length >= 50, 15_000, '50 events');
    a.kill('SIGTERM');
    await c.until(() => c.ofState('reconnecting').length === 1, 15_000, 'the 1001');
    const deliveredAtDrop = c.lastSeq('aircraft') + c.lastSeq('alerts');
    await c.until(() => c.ofState('open').length === 2, 15_000, 'the connection to b');
    const publishedAtResume = log.last('aircraft') + log.last('alerts');
    expect(c.ofState('open')[1]?.url).toBe(b.url);
    const [drop, reopen] = [c.ofState('reconnecting')[0], c.ofState('open')[1]] as { at: number; code?: number }[];
    expect(drop?.code).toBe(1001);
    console.log(
      `drain to another replica: resumed ${Math.round((reopen?.at ?? 0) - (drop?.at ?? 0))} ms after the 1001, ` +
        `${publishedAtResume - deliveredAtDrop} events replayed`,
    );
    await c.until(() => c.events.length >= 200, 15_000, '200 events');
    await publishing.stop();
    await c.until(
      () => c.lastSeq('aircraft') === log.last('aircraft') && c.lastSeq('alerts') === log.last('alerts'),
      15_000,
      'the last published events',
    );
    expect(c.snapshots).toHaveLength(2);
    for (const scope of ['aircraft', 'alerts'] as const) {
      expect(c.seqs(scope)).toEqual(range(base[scope] + 1, log.last(scope)));
      for (const e of c.events.filter((e) => e.type === scope)) expect(e.data).toEqual(log.data(scope, e.seq));
    }
    c.client.close();
    await b.stop();
  });

  it("replaces a scope's state on resync when its position left the history while away", async () => {
    const port = await freePort();
    const env = { HYDRA_PORT: String(port) };
    let gw = await f.gateway(env);
    const { key } = await f.key(['signals']);
    await f.publish('signals', { kind: 'rf', label: 'before' });
    const c = new RecordingClient({ url: gw.url, apiKey: key, backoff: BACKOFF });
    await c.until(() => c.snapshots.length === 1, 15_000, 'the snapshot');
    const seen = await f.publish('signals', { kind: 'rf', label: 'seen' });
    await c.until(() => c.lastSeq('signals') === seen, 15_000, 'the event');

    await gw.stop(); // killed: the client retries against a closed port meanwhile
    await c.until(() => c.ofState('reconnecting').length >= 1, 15_000, 'the drop');
    // Past the history (20) and the new gateway's ring (4096): the position cannot be replayed.
    for (let batch = 0; batch < 5; batch++) {
      await f.backplane.bus.publish(
        Array.from({ length: 1000 }, (_, i) => ({ scope: 'signals' as const, data: { label: `n${batch}-${i}` } })),
      );
    }
    gw = await f.gateway(env);
    await c.until(() => c.resyncs.length === 1, 15_000, 'the resync');
    expect(c.resyncs[0]).toMatchObject({ scope: 'signals', reason: 'history_gone' });
    const fresh = c.snapshots[1];
    expect(fresh?.seq).toBe(c.resyncs[0]?.seq);
    expect(c.client.recent('signals').at(-1)).toEqual({ label: 'n4-999' });
    const live = await f.publish('signals', { kind: 'rf', label: 'after' });
    await c.until(() => c.lastSeq('signals') === live, 15_000, 'live after the resync');
    expect(c.seqs('signals')).toEqual([seen, live]);
    c.client.close();
    await gw.stop();
  });

  it('ends on a revoked key after one attempt (1008), and when the key is revoked while connected', async () => {
    const gw = await f.gateway();
    const revoked = await f.key(['signals']);
    await f.backplane.keys.revoke(revoked.id);
    const c = new RecordingClient({ url: gw.url, apiKey: revoked.key, backoff: BACKOFF });
    await c.until(() => c.ofState('closed').length === 1, 15_000, 'closed');
    expect(c.ofState('connecting')).toHaveLength(1);
    expect(c.ofState('reconnecting')).toHaveLength(0);
    expect(c.ofState('closed')[0]).toMatchObject({ code: 1008 });

    const later = await f.key(['signals']);
    const d = new RecordingClient({ url: gw.url, apiKey: later.key, headers: {}, backoff: BACKOFF });
    await d.until(() => d.ofState('open').length === 1, 15_000, 'open');
    await f.backplane.keys.revoke(later.id);
    await d.until(() => d.ofState('closed').length === 1, 15_000, 'closed');
    expect(d.ofState('closed')[0]).toMatchObject({ code: 1008 });
    expect(d.ofState('connecting')).toHaveLength(1);
    await gw.stop();
  });

  it('backs off longer on 429 (attempts counted on the gateway), then connects once a slot frees', async () => {
    const gw = await f.gateway({ HYDRA_MAX_CONNECTIONS_PER_IP: '1' });
    const { key } = await f.key(['signals']);
    // From an address of its own: the per-IP count is cluster-wide, and other tests' killed gateways hold
    // 127.0.0.1 slots until their lease ends.
    const WS = fromAddress('127.0.43.1');
    const holder = new RecordingClient({ url: gw.url, apiKey: key, snapshot: false, WebSocket: WS });
    await holder.until(() => holder.ofState('open').length === 1, 15_000, 'the holder');
    const busyMs = 400;
    const c = new RecordingClient({ url: gw.url, apiKey: key, backoff: { ...BACKOFF, busyMs }, WebSocket: WS });
    await c.until(() => c.ofState('reconnecting').length >= 3, 15_000, 'three refusals');
    holder.client.close();
    await c.until(() => c.ofState('open').length === 1, 15_000, 'open once the slot is free');

    const refusals = c.ofState('reconnecting');
    expect(refusals.every((s) => s.httpStatus === 429)).toBe(true);
    for (const s of refusals) expect(s.delayMs).toBeGreaterThanOrEqual(busyMs);
    const dials = c.ofState('connecting');
    // Attempts were spaced by at least busyMs: never a hot loop.
    for (let i = 1; i < dials.length; i++) {
      expect((dials[i] as { at: number }).at - (dials[i - 1] as { at: number }).at).toBeGreaterThanOrEqual(busyMs - 20);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    const rejected = Number(/^hydra_connections_rejected_total\{reason="ip_limit"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    expect(rejected).toBe(refusals.length);
    c.client.close();
    await gw.stop();
  });

  it('honours Retry-After on a 429 (an address in its failed-authentication cool-down)', async () => {
    const gw = await f.gateway({ HYDRA_AUTH_FAILURE_LIMIT: '1', HYDRA_AUTH_THROTTLE_MS: '1500' });
    const WS = fromAddress('127.0.44.1');
    const unknown = `hydra_k1_${'A'.repeat(43)}`;
    const guesser = new RecordingClient({ url: gw.url, apiKey: unknown, WebSocket: WS });
    await guesser.until(() => guesser.ofState('closed').length === 1, 15_000, 'the 1008');
    // A valid key the gateway has not cached yet, from the same address: 429 with Retry-After: 2 (seconds).
    const { key } = await f.key(['signals']);
    const c = new RecordingClient({ url: gw.url, apiKey: key, WebSocket: WS, backoff: { ...BACKOFF, busyMs: 100 } });
    await c.until(() => c.ofState('open').length === 1, 15_000, 'open after the cool-down');
    const refused = c.ofState('reconnecting')[0];
    expect(refused).toMatchObject({ httpStatus: 429 });
    expect(refused?.delayMs).toBeGreaterThanOrEqual(2000); // Retry-After, not busyMs
    expect(c.ofState('reconnecting')).toHaveLength(1);
    c.client.close();
    await gw.stop();
  });

  it('notices a stopped gateway (SIGSTOP) after two missed intervals and moves on, by heartbeat and by ping', async () => {
    const env = { HYDRA_PING_INTERVAL_MS: '500' };
    const [a, b] = await Promise.all([f.gateway(env), f.gateway(env)]);
    const { key } = await f.key(['aircraft']);
    const options = { url: [a.url, b.url], apiKey: key, backoff: BACKOFF, connectTimeoutMs: 3000 };
    const byHeartbeat = new RecordingClient({ ...options, liveness: 'heartbeat' });
    const byPing = new RecordingClient({ ...options, liveness: 'ping', pingIntervalMs: 500 });
    const clients = [byHeartbeat, byPing];
    await Promise.all(clients.map((c) => c.until(() => c.ofState('open').length === 1, 15_000, 'open')));
    // The heartbeat client learnt the gateway's interval from a heartbeat message (its default is 15 s):
    // nothing is emitted for a heartbeat, so this one wait polls.
    const learnt = () => (byHeartbeat.client as unknown as { intervalMs: number }).intervalMs === 500;
    while (!learnt()) await new Promise((r) => setTimeout(r, 50));

    const stoppedAt = performance.now();
    a.kill('SIGSTOP');
    try {
      await Promise.all(clients.map((c) => c.until(() => c.ofState('open').length === 2, 15_000, 'open on b')));
      for (const [c, reason] of [
        [byHeartbeat, 'heartbeat timeout'],
        [byPing, 'ping timeout'],
      ] as const) {
        const drop = c.ofState('reconnecting')[0] as { at: number; reason?: string };
        expect(drop.reason).toBe(reason);
        const detectedMs = drop.at - stoppedAt;
        // Two intervals of silence (1000 ms) counted from the last message, checked every interval/4.
        expect(detectedMs).toBeGreaterThan(500);
        expect(detectedMs).toBeLessThan(2500);
        expect(c.ofState('open')[1]?.url).toBe(b.url);
      }
      const seq = await f.publish('aircraft', { id: 'after-stop', lat: 0, lon: 0 });
      await Promise.all(clients.map((c) => c.until(() => c.lastSeq('aircraft') === seq, 15_000, 'live on b')));
    } finally {
      a.kill('SIGCONT');
    }
    for (const c of clients) c.client.close();
    await Promise.all([a.stop(), b.stop()]);
  });
});
