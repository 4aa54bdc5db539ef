import { redisKeys } from '@hydra/backplane';
import type { Scope } from '@hydra/protocol';
import { ResumingClient, StreamFixture } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, useLocalRedis } from './fault-helpers.js';

useLocalRedis();

const LEASE_MS = 2000;
const PER_IP = 10;
const IPS = Array.from({ length: 200 }, (_, i) => `127.0.${60 + Math.floor(i / 100)}.${(i % 100) + 1}`);
const CLIENTS = IPS.length * PER_IP; // 2,000
const SCOPES: Scope[] = ['signals', 'alerts'];

/**
 * Guarantee 2 under a crash: a gateway SIGKILLed with 2,000 clients (200
 * source IPs × the per-IP limit of 10) cannot release its slots; they free
 * themselves within HYDRA_LIMITER_LEASE_MS, and the clients — refused with
 * 429 by the surviving replica until then — resume there without loss.
 */
describe('gateway SIGKILL with thousands of clients', () => {
  let f: StreamFixture;
  const clients: ResumingClient[] = [];

  beforeAll(async () => {
    f = await StreamFixture.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await f?.stop();
  });

  it('frees the dead replica’s slots within the lease and every client resumes on the other replica, losing nothing', async () => {
    const env = { HYDRA_LIMITER_LEASE_MS: String(LEASE_MS), HYDRA_MAX_CONNECTIONS_PER_IP: String(PER_IP) };
    const victim = await f.gateway({ ...env, HYDRA_NODE_ID: 'gw-victim' });
    const survivor = await f.gateway({ ...env, HYDRA_NODE_ID: 'gw-survivor' });
    const k = await f.key(SCOPES);
    for (const scope of SCOPES) await f.publish(scope, { warm: true });

    let urls: string[] = [victim.url];
    for (let batch = 0; batch < CLIENTS; batch += 250) {
      const started = Array.from({ length: Math.min(250, CLIENTS - batch) }, (_, i) => {
        const n = batch + i;
        const c = new ResumingClient({
          urls: () => urls,
          key: k.key,
          localAddress: IPS[n % IPS.length] as string,
          maxBackoffMs: 500,
        });
        clients.push(c);
        return c.start();
      });
      await Promise.all(started.map((c) => c.until(() => c.last.size === SCOPES.length, 20_000, 'snapshots')));
    }
    const redis = f.redis.client();
    const victimSlots = async () => {
      const pipeline = redis.pipeline();
      for (const ip of IPS) pipeline.hget(redisKeys.ipConnections(ip), 'gw-victim');
      return ((await pipeline.exec()) ?? []).reduce((n, [, v]) => n + Number(v ?? 0), 0);
    };
    expect(await victimSlots()).toBe(CLIENTS);

    // Events keep flowing through the crash.
    let publishing = true;
    const last = new Map<Scope, number>();
    const flow = (async () => {
      for (let i = 0; publishing && i < 5000; i++) {
        for (const scope of SCOPES) last.set(scope, await f.publish(scope, { i }));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await pollUntil(() => (last.get('signals') ?? 0) > 10, 5000, 'events flowing');

    // The lease expiries the victim last wrote (Redis clock): its slots stop counting then. The
    // bound runs from the replica's death (Redis clock, read once the process has exited: a lease
    // renewal it sent just before dying may still reach Redis, and counts from there).
    urls = [survivor.url];
    victim.kill('SIGKILL');
    const killedAt = performance.now();
    await victim.exited;
    const [secs, micros] = (await redis.time()) as [string, string];
    const killRedisMs = Number(secs) * 1000 + Math.floor(Number(micros) / 1000);
    const expiryPipeline = redis.pipeline();
    for (const ip of IPS) expiryPipeline.hget(redisKeys.ipConnections(ip), 'gw-victim#exp');
    const expiries = ((await expiryPipeline.exec()) ?? []).map(([, v]) => Number(v));
    const freedWithinMs = Math.max(...expiries) - killRedisMs;
    expect(freedWithinMs).toBeLessThanOrEqual(LEASE_MS);

    await pollUntil(
      () => clients.every((c) => c.connected && c.connects >= 2),
      LEASE_MS + 8000,
      'every client resumed',
      100,
    );
    const allBackMs = performance.now() - killedAt;
    const refused429 = clients.reduce((n, c) => n + (c.refusals.get(429) ?? 0), 0);
    // Until the lease lapsed the survivor saw each IP at its limit (the dead replica's slots): 429, not admission.
    expect(refused429).toBeGreaterThan(0);
    expect(allBackMs).toBeGreaterThan(LEASE_MS / 3);
    expect(allBackMs).toBeLessThan(LEASE_MS + 8000);

    publishing = false;
    await flow;
    await Promise.all(
      clients.map((c) => c.until(() => SCOPES.every((s) => c.last.get(s) === last.get(s)), 20_000, 'the last events')),
    );
    const problems = clients.flatMap((c) => c.problems);
    expect(problems).toEqual([]);
    expect(clients.reduce((n, c) => n + c.gaps + c.duplicates + c.resyncs, 0)).toBe(0);
    // Every client holds a slot on the survivor: 10 per IP, none stranded, none over.
    expect(await victimSlots()).toBe(0);
    const pipeline = redis.pipeline();
    for (const ip of IPS) pipeline.hget(redisKeys.ipConnections(ip), 'gw-survivor');
    const held = ((await pipeline.exec()) ?? []).map(([, v]) => Number(v));
    expect(held.every((n) => n === PER_IP)).toBe(true);
    console.log(
      `[faults] gateway SIGKILL with ${CLIENTS} clients on ${IPS.length} IPs: slots freed within ${freedWithinMs} ms ` +
        `(lease ${LEASE_MS} ms); all resumed on the other replica in ${Math.round(allBackMs)} ms after ${refused429} 429s; ` +
        `${clients.reduce((n, c) => n + c.events, 0)} events delivered, 0 lost, 0 duplicated`,
    );
  }, 120_000);
});
