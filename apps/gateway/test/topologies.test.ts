import { redisKeys } from '@hydra/backplane';
import { describeRedisTarget, readRedisTarget } from '@hydra/config';
import { CloseCode, SCOPES, type Scope } from '@hydra/protocol';
import {
  type GatewayProcess,
  REDIS_TOPOLOGIES,
  type ReceivedMessage,
  ScopeTracker,
  type StreamClient,
  StreamFixture,
  withKey,
} from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestSeqs, type PublisherProcess, startPublisherProcess } from './fault-helpers.js';

/** Starting a Sentinel group or a 6-node cluster, two gateways and a publisher on a busy 2-core machine. */
const START_BOUND_MS = 90_000;
const SCENARIO_BOUND_MS = 30_000;
const MAX_CONNECTIONS_PER_IP = 10;
/** A close the gateway owes at once (a refusal, a revocation notice): generous for a loaded machine. */
const CLOSE_BOUND_MS = 10_000;

const scopeOf = (m: ReceivedMessage) => (m.data as { scope?: string } | undefined)?.scope;
const snapshotOf = (c: StreamClient, scope: Scope) =>
  c.messages.find((m) => m.type === 'snapshot' && scopeOf(m) === scope)?.data as
    | { seq: number; ts: number; complete: boolean; items: Record<string, unknown>[] }
    | undefined;
/** The close code, once the socket closed (at most `timeoutMs`). */
const closeCodeWithin = (c: StreamClient, timeoutMs = CLOSE_BOUND_MS) =>
  c.until(() => c.closeCode, timeoutMs, 'the close');
/** Every scope a message names: an event's type, a snapshot's or resync's data.scope. */
const scopesSeen = (c: StreamClient) =>
  [...new Set(c.messages.flatMap((m) => (m.seq !== undefined ? [m.type] : (scopeOf(m) ?? []))))].sort();

/**
 * The gateway's main paths, through real gateway and publisher processes, on
 * each Redis an operator can name (HYDRA_REDIS_URL, HYDRA_REDIS_SENTINELS,
 * HYDRA_REDIS_CLUSTER_NODES): the same scenarios side by side. On the
 * cluster the five scopes spread over the masters (their `{scope}` tags), as
 * do key records and per-IP limiter keys, events ride sharded pub/sub and
 * revocations plain pub/sub, which the cluster broadcasts to every node. Each topology is started once and shared;
 * every scenario makes its own keys and entity ids, so none depends on
 * another's state.
 */
describe.each(REDIS_TOPOLOGIES)('main paths on %s Redis', (topology) => {
  let f: StreamFixture;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let publisher: PublisherProcess;
  /** Source IPs of this topology's clients: 127.<net>.x.y (the per-IP limit counts by it). */
  const net = 40 + REDIS_TOPOLOGIES.indexOf(topology);

  beforeAll(async () => {
    f = await StreamFixture.start({ topology });
    [a, b] = await Promise.all([f.gateway(), f.gateway()]);
    publisher = await startPublisherProcess(f.processEnv);
  }, START_BOUND_MS);
  afterAll(async () => {
    await publisher?.stop();
    await f?.stop();
  });

  it('every gateway names this topology as its Redis at start', async () => {
    const named = describeRedisTarget(readRedisTarget(f.redisEnv)!);
    expect(named).toMatch({ single: /^redis:/, sentinel: /^sentinel master/, cluster: /^cluster via/ }[topology]);
    for (const gw of [a, b]) expect((await gw.waitForLog((l) => l.msg === 'starting', 1000)).redis).toBe(named);
    if (topology === 'cluster') {
      // What makes the scenarios below cross shards: the scopes' slots are served by several masters.
      const masters = await Promise.all(SCOPES.map((scope) => f.cluster.masterOf(redisKeys.scopeSeq(scope))));
      expect(new Set(masters).size).toBeGreaterThan(1);
    }
  });

  /** Publishes through the publisher process; the seq of each event, in order. */
  const publish = (...events: { scope: Scope; data: Record<string, unknown> }[]) =>
    ingestSeqs(publisher.ingestUrl, events);

  const expectUnauthorized = async (c: StreamClient) => {
    expect(await closeCodeWithin(c)).toBe(CloseCode.Unauthorized);
    expect(c.messages.map((m) => [m.type, (m.data as { code?: string }).code])).toEqual([['error', 'unauthorized']]);
  };

  it(
    'connects with the key in the query and in the x-api-key header: `connected` with the key scopes, first',
    async () => {
      const k = await f.key(['signals', 'aircraft']);
      const byQuery = f.client(withKey(a.url, k.key, '&snapshot=false'));
      const byHeader = f.client(`${b.url}?snapshot=false`, { headers: { 'x-api-key': k.key } });
      for (const c of [byQuery, byHeader]) {
        const [connected] = await c.waitFor((m) => m.type === 'connected');
        expect(c.messages[0]).toBe(connected);
        expect((connected?.data as { scopes: string[] }).scopes).toEqual(['signals', 'aircraft']);
      }
      // A well-formed key the store does not hold is looked up (on its slot) and refused.
      await expectUnauthorized(
        f.client(a.url, { headers: { 'x-api-key': 'hydra_k1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } }),
      );
      await Promise.all([byQuery.close(), byHeader.close()]);
    },
    SCENARIO_BOUND_MS,
  );

  it(
    'snapshot then live, for an entity scope (aircraft) and a log scope (signals)',
    async () => {
      const id = `${topology}-snap`;
      const [, aircraftSeq, signalsSeq] = await publish(
        { scope: 'aircraft', data: { id, lat: 1, lon: 1 } },
        { scope: 'aircraft', data: { id, lat: 2, lon: 2 } },
        { scope: 'signals', data: { label: `${topology}-before` } },
      );
      const k = await f.key(['aircraft', 'signals']);
      const c = f.client(withKey(b.url, k.key));
      await c.waitFor((m) => m.type === 'snapshot', 2);
      const aircraft = snapshotOf(c, 'aircraft')!;
      const signals = snapshotOf(c, 'signals')!;
      expect(aircraft.seq).toBeGreaterThanOrEqual(aircraftSeq!);
      expect(aircraft.items.find((item) => item.id === id)).toMatchObject({ lat: 2, lon: 2 });
      expect(signals.seq).toBeGreaterThanOrEqual(signalsSeq!);
      expect(signals.items).toContainEqual({ label: `${topology}-before` });

      const [liveAircraft, liveSignals] = await publish(
        { scope: 'aircraft', data: { id, lat: 3, lon: 3 } },
        { scope: 'signals', data: { label: `${topology}-live` } },
      );
      await c.waitFor((m) => m.type === 'aircraft' && m.seq === liveAircraft);
      await c.waitFor((m) => m.type === 'signals' && m.seq === liveSignals);
      expect(c.ofType('aircraft').at(-1)?.data).toEqual({ id, lat: 3, lon: 3 });
      expect(c.ofType('signals').at(-1)?.data).toEqual({ label: `${topology}-live` });
      // Live events follow each snapshot from its seq on: no gap, no duplicate, nothing before it.
      const tracker = new ScopeTracker();
      for (const m of c.messages) tracker.apply(m);
      expect(tracker.problems).toEqual([]);
      expect(liveAircraft).toBeGreaterThan(aircraft.seq);
      await c.close();
    },
    SCENARIO_BOUND_MS,
  );

  it(
    'scope filtering: a key receives only its scopes; scopes= narrows a connection further',
    async () => {
      const keyed = await f.key(['signals', 'alerts']);
      const wide = await f.key(['aircraft', 'signals', 'cyber']);
      const byKey = f.client(withKey(a.url, keyed.key));
      const narrowed = f.client(withKey(b.url, wide.key, '&scopes=cyber,aircraft'));
      const [connected] = await narrowed.waitFor((m) => m.type === 'connected');
      expect((connected?.data as { scopes: string[] }).scopes).toEqual(['aircraft', 'cyber']);
      await byKey.waitFor((m) => m.type === 'snapshot', 2);
      await narrowed.waitFor((m) => m.type === 'snapshot', 2);

      // Witnesses granted every scope, one per gateway: once one holds an event, its gateway has
      // fanned that event out to every socket it goes to (one uWS publish per topic), leaks included.
      const every = await f.key([...SCOPES]);
      const witnesses = [a, b].map((gw) => f.client(withKey(gw.url, every.key, '&snapshot=false')));
      await Promise.all(witnesses.map((w) => w.waitFor((m) => m.type === 'connected')));

      // One event of every scope (on a cluster they come from different masters, in no mutual order).
      const data: Record<Scope, Record<string, unknown>> = {
        aircraft: { id: `${topology}-filter`, lat: 0, lon: 0 },
        vessels: { id: '244660042', lat: 0, lon: 0 },
        signals: { label: 'filter' },
        cyber: { value: 'filter' },
        alerts: { headline: 'filter' },
      };
      const seqs = await publish(...SCOPES.map((scope) => ({ scope, data: data[scope] })));
      const seqOf = (scope: Scope) => seqs[SCOPES.indexOf(scope)];
      for (const w of witnesses) {
        await w.until(() =>
          SCOPES.every((scope) => w.messages.some((m) => m.type === scope && m.seq === seqOf(scope))),
        );
      }
      // Then one more event each filtered client is owed: its socket is FIFO, so anything leaked
      // to it above is ahead of this one.
      const [signals, cyber] = await publish(
        { scope: 'signals', data: { label: 'filter-last' } },
        { scope: 'cyber', data: { value: 'filter-last' } },
      );
      await byKey.waitFor((m) => m.type === 'signals' && m.seq === signals);
      await narrowed.waitFor((m) => m.type === 'cyber' && m.seq === cyber);
      expect(byKey.ofType('alerts').map((m) => m.seq)).toContain(seqOf('alerts'));
      expect(narrowed.ofType('aircraft').map((m) => m.seq)).toContain(seqOf('aircraft'));
      expect(scopesSeen(byKey)).toEqual(['alerts', 'signals']);
      expect(scopesSeen(narrowed)).toEqual(['aircraft', 'cyber']);
      await Promise.all([byKey, narrowed, ...witnesses].map((c) => c.close()));
    },
    SCENARIO_BOUND_MS,
  );

  it(
    `enforces ${MAX_CONNECTIONS_PER_IP} connections per IP across both gateways: the next gets 429 on either`,
    async () => {
      const k = await f.key(['signals']);
      const ip = `127.${net}.1.1`;
      const connect = (url: string, from = ip) =>
        f.connectedClient(withKey(url, k.key, '&snapshot=false'), { localAddress: from });
      const held: StreamClient[] = [];
      for (let i = 0; i < MAX_CONNECTIONS_PER_IP; i++) held.push(await connect(i % 2 === 0 ? a.url : b.url));
      for (const gw of [a, b]) {
        const over = f.client(withKey(gw.url, k.key), { localAddress: ip });
        expect(await over.waitForRefusal()).toEqual({ status: 429, body: 'Too Many Connections' });
      }
      // Another IP is unaffected; closing one (held on A) frees exactly one slot. It is taken again on
      // A: B remembers its own refusal of this IP for up to 2 s (over-limit-cache.ts, by design).
      await (await connect(b.url, `127.${net}.1.2`)).close();
      await held.shift()?.close();
      held.push(await connect(a.url));
      for (const gw of [a, b]) {
        const over = f.client(withKey(gw.url, k.key), { localAddress: ip });
        expect((await over.waitForRefusal()).status).toBe(429);
      }
      await Promise.all(held.map((c) => c.close()));
    },
    SCENARIO_BOUND_MS,
  );

  it(
    'revoking a key closes its live sessions on both gateways with 1008; another key keeps streaming',
    async () => {
      const k = await f.key(['signals']);
      const other = await f.key(['signals']);
      const sessions = [a, b].map((gw) => f.client(withKey(gw.url, k.key, '&snapshot=false')));
      const bystander = f.client(withKey(a.url, other.key, '&snapshot=false'));
      await Promise.all([...sessions, bystander].map((c) => c.waitFor((m) => m.type === 'connected')));
      await f.backplane.keys.revoke(k.id);
      for (const c of sessions) {
        expect(await closeCodeWithin(c)).toBe(CloseCode.Unauthorized);
        expect(c.ofType('error').map((m) => (m.data as { code: string }).code)).toEqual(['unauthorized']);
      }
      await expectUnauthorized(f.client(withKey(b.url, k.key)));
      const [seq] = await publish({ scope: 'signals', data: { label: 'after revoke' } });
      await bystander.waitFor((m) => m.type === 'signals' && m.seq === seq);
      expect(bystander.closeCode).toBeNull();
      await bystander.close();
    },
    SCENARIO_BOUND_MS,
  );

  it(
    'key expiry closes live sessions on both gateways with 1008 at the expiry, then refuses the key at connect',
    async () => {
      // 3 s: long enough that `connected` surely arrives first on a loaded machine.
      const created = await f.backplane.keys.create({ scopes: ['signals'], ttlSeconds: 3, name: 'expiring' });
      const expiresAt = created.record.expiresAt as number;
      const sessions = [a, b].map((gw) => f.client(withKey(gw.url, created.key, '&snapshot=false')));
      await Promise.all(sessions.map((c) => c.waitFor((m) => m.type === 'connected')));
      const closes = await Promise.all(
        sessions.map(async (c) => ({ code: await closeCodeWithin(c, expiresAt - Date.now() + 1500), at: Date.now() })),
      );
      for (const [i, { code, at }] of closes.entries()) {
        expect(code).toBe(CloseCode.Unauthorized);
        expect(at).toBeGreaterThanOrEqual(expiresAt - 50); // not before (same clock; a few ms of rounding)
        expect(at - expiresAt).toBeLessThanOrEqual(1500);
        expect(sessions[i]?.ofType('error')).toHaveLength(1);
      }
      await expectUnauthorized(f.client(withKey(a.url, created.key)));
      await expectUnauthorized(f.client(b.url, { headers: { 'x-api-key': created.key } }));
    },
    SCENARIO_BOUND_MS,
  );

  it(
    'resumes on the other gateway with exactly the missed events of an entity and a log scope, then live',
    async () => {
      const k = await f.key(['aircraft', 'signals']);
      const tracker = new ScopeTracker();
      const first = f.client(withKey(a.url, k.key));
      await first.waitFor((m) => m.type === 'snapshot', 2);
      const read = await publish(
        { scope: 'aircraft', data: { id: `${topology}-r`, lat: 0, lon: 0 } },
        { scope: 'signals', data: { label: 'read' } },
      );
      await first.waitFor((m) => m.type === 'aircraft' && m.seq === read[0]);
      await first.waitFor((m) => m.type === 'signals' && m.seq === read[1]);
      await first.close();
      for (const m of first.messages) tracker.apply(m);

      const missed = { aircraft: [] as number[], signals: [] as number[] };
      for (let i = 0; i < 5; i++) {
        const [aircraft, signals] = await publish(
          { scope: 'aircraft', data: { id: `${topology}-m${i}`, lat: i, lon: i } },
          { scope: 'signals', data: { label: `missed-${i}` } },
        );
        missed.aircraft.push(aircraft!);
        missed.signals.push(signals!);
      }
      const second = f.client(withKey(b.url, k.key, `&resume=${tracker.resumeParam()}`));
      await second.waitFor((m) => m.type === 'aircraft', missed.aircraft.length);
      await second.waitFor((m) => m.type === 'signals', missed.signals.length);
      const [live] = await publish({ scope: 'signals', data: { label: 'live' } });
      await second.waitFor((m) => m.type === 'signals' && m.seq === live);
      for (const m of second.messages) tracker.apply(m);

      expect(second.ofType('snapshot')).toEqual([]);
      expect(second.ofType('resync')).toEqual([]);
      expect(second.ofType('aircraft').map((m) => m.seq)).toEqual(missed.aircraft);
      expect(second.ofType('signals').map((m) => m.seq)).toEqual([...missed.signals, live]);
      expect(second.ofType('signals').map((m) => (m.data as { label: string }).label)).toEqual([
        ...missed.signals.map((_, i) => `missed-${i}`),
        'live',
      ]);
      expect(missed.aircraft[0]).toBe(read[0]! + 1);
      expect(tracker.problems).toEqual([]);
      await second.close();
    },
    SCENARIO_BOUND_MS,
  );
});
