import { DEFAULT_RETENTION, formatRetention, redisKeys } from '@hydra/backplane';
import { StreamFixture } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from './redis-cost.js';

/**
 * Processes on one backplane must share HYDRA_RETENTION (entity TTLs, log
 * snapshots and history bounds). A replica started with another value says so
 * at start, in its log and in `hydra_retention_mismatch`, and keeps serving;
 * once it is gone (a canary rolled back), the others agree again.
 */
describe('HYDRA_RETENTION disagreement between processes', () => {
  const TTL = 60_000;
  let f: StreamFixture;
  beforeAll(async () => {
    f = await StreamFixture.start();
    // The test's own backplane stands for a publisher already running with the default policy.
    expect((await f.backplane.retentionAgreement.check(TTL)).agrees).toBe(true);
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('a replica with the same policy reports agreement', async () => {
    const admin = f.redis.client();
    const gw = await f.gateway();
    // The replica keeps its entry once it runs: seeing it proves the comparison took place.
    await expect.poll(async () => Object.values(await admin.hgetall(redisKeys.retentionProcesses())).length).toBe(2);
    const policies = Object.values(await admin.hgetall(redisKeys.retentionProcesses()));
    expect(policies.every((v) => v.endsWith(`|${formatRetention(DEFAULT_RETENTION)}`))).toBe(true);
    await admin.quit();
    expect(await metricValue(gw.adminPort, 'hydra_retention_mismatch')).toBe(0);
    expect(gw.logs.some((l) => String(l.msg).includes('HYDRA_RETENTION differs'))).toBe(false);
    await gw.stop();
  });

  it('a replica with another policy logs both policies and sets hydra_retention_mismatch, until it is gone', async () => {
    const gw = await f.gateway({ HYDRA_RETENTION: 'aircraft:ttl=5000' });
    const line = await gw.waitForLog((l) => String(l.msg).includes('HYDRA_RETENTION differs'));
    expect(line.level).toBe(50);
    expect(String(line.ours)).toContain('aircraft:ttl=5000');
    expect(String(line.theirs)).toContain('aircraft:ttl=60000');
    expect(await metricValue(gw.adminPort, 'hydra_retention_mismatch')).toBe(1);
    // The publisher's side sees the newcomer's policy from then on…
    expect((await f.backplane.retentionAgreement.check(TTL)).agrees).toBe(false);
    // …and agrees again once the canary is rolled back (a clean stop, SIGTERM, withdraws its entry).
    gw.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect((await f.backplane.retentionAgreement.check(TTL)).agrees).toBe(true);
  });
});
