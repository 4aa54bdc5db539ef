import type { GatewayProcess } from '@hydra/test-support';
import { StreamFixture } from '@hydra/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RawClient, rawUpgrade } from './raw-socket.js';
import { commandCalls, commandsBetween, metricValue } from './redis-cost.js';

/**
 * Upgrade floods. The per-IP limit is decided in Redis, but an IP this
 * gateway saw refused within the last second is refused again from memory
 * (over-limit-cache.ts): a flood from an IP at its limit costs about one
 * limiter call per second, not one per attempt. The figures are printed.
 */
describe('upgrade floods: 429s are cheap', () => {
  let f: StreamFixture;
  const held: RawClient[] = [];

  // A Redis per test: the Redis command counts must not include another test's
  // gateways (their lease renewals for 100 IPs would dwarf the flood's cost).
  beforeEach(async () => {
    f = await StreamFixture.start();
  });
  afterEach(async () => {
    for (const c of held.splice(0)) c.destroy();
    await f?.stop();
  });

  /** Runs `total` upgrades with `concurrency` in flight; returns the count of each HTTP status. */
  const flood = async (port: number, path: string, total: number, concurrency: number, ipOf: (i: number) => string) => {
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const c = await rawUpgrade(port, path, { localAddress: ipOf(i) });
        statuses.set(c.status, (statuses.get(c.status) ?? 0) + 1);
        c.destroy();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return statuses;
  };
  const hold = async (gw: GatewayProcess, path: string, ip: string) => {
    const c = await rawUpgrade(gw.port, path, { localAddress: ip });
    expect(c.status).toBe(101);
    await c.until(() => c.messages().some((m) => m.type === 'connected'));
    held.push(c);
  };
  const acquires = (gw: GatewayProcess) =>
    metricValue(gw.adminPort, 'hydra_redis_command_duration_seconds_count{op="limiter_acquire"}');

  it('2,000 upgrades from one IP at its limit: all 429, with a near-constant number of Redis commands', async () => {
    const gw = await f.gateway();
    const { key } = await f.key(['signals']);
    const path = `/v1/stream?apiKey=${key}&snapshot=false`;
    const ip = '127.0.82.1';
    for (let i = 0; i < 10; i++) await hold(gw, path, ip);

    const acquiresBefore = await acquires(gw);
    const before = await commandCalls(f.redis);
    const started = performance.now();
    const statuses = await flood(gw.port, path, 2000, 50, () => ip);
    const seconds = (performance.now() - started) / 1000;
    const commands = commandsBetween(before, await commandCalls(f.redis));
    const limiterCalls = (await acquires(gw)) - acquiresBefore;

    expect(Object.fromEntries(statuses)).toEqual({ 429: 2000 });
    // The attempts already in flight when the first refusal comes back, then one limiter call per
    // second of flood (the cache's TTL): bounded by concurrency and time, not by attempts.
    expect(limiterCalls).toBeLessThanOrEqual(50 + Math.ceil(seconds) + 2);
    // Each limiter call is one script of at most 5 commands (EVALSHA, TIME, HGETALL, HSET, PEXPIRE);
    // everything else Redis saw meanwhile is background work (expiry sweeps, lease renewals), not per attempt.
    expect(commands).toBeLessThan(20 + 10 * seconds + 5 * limiterCalls);
    expect(commands).toBeLessThan(2000 / 4);
    expect(await metricValue(gw.adminPort, 'hydra_limiter_decisions_total{decision="refused_cached"}')).toBe(
      2000 - limiterCalls,
    );
    console.log(
      `[figures] one-IP flood: 2000 upgrades → 2000 × 429 in ${seconds.toFixed(1)} s; ` +
        `${limiterCalls} limiter calls, ${commands} Redis commands in all ` +
        `(${(commands / 2000).toFixed(4)} per refused upgrade)`,
    );
  }, 60_000);

  it('floods from 100 IPs at their limit: every extra upgrade 429, Redis cost bounded by IPs, not attempts', async () => {
    const gw = await f.gateway({ HYDRA_MAX_CONNECTIONS_PER_IP: '2' });
    const { key } = await f.key(['signals']);
    const path = `/v1/stream?apiKey=${key}&snapshot=false`;
    const ipOf = (i: number) => `127.0.83.${(i % 100) + 1}`;
    for (let i = 0; i < 200; i++) await hold(gw, path, ipOf(i));

    const acquiresBefore = await acquires(gw);
    const before = await commandCalls(f.redis);
    const started = performance.now();
    const statuses = await flood(gw.port, path, 2000, 50, ipOf);
    const seconds = (performance.now() - started) / 1000;
    const commands = commandsBetween(before, await commandCalls(f.redis));
    const limiterCalls = (await acquires(gw)) - acquiresBefore;

    expect(Object.fromEntries(statuses)).toEqual({ 429: 2000 });
    expect(limiterCalls).toBeLessThanOrEqual(100 * (Math.ceil(seconds) + 1));
    expect(limiterCalls).toBeLessThan(2000);
    console.log(
      `[figures] 100-IP flood: 2000 upgrades → 2000 × 429 in ${seconds.toFixed(1)} s; ` +
        `${limiterCalls} limiter calls, ${commands} Redis commands ` +
        `(${(commands / 2000).toFixed(3)} per refused upgrade)`,
    );

    // A client from a fresh IP is admitted during and after all this.
    await hold(gw, path, '127.0.83.200');
    expect(gw.child.exitCode).toBeNull();
  }, 60_000);
});
