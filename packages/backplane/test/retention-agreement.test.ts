import { startRedis, type TestRedis } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackplane, formatRetention, parseRetention, type RetentionCheck, RetentionWatch } from '../src/index.js';

const standard = parseRetention(undefined);
const shortTtl = parseRetention('aircraft:ttl=5000');

describe('retention agreement across processes on Redis', () => {
  let testRedis: TestRedis;
  const flush = async () => {
    const admin = testRedis.client();
    await admin.flushall();
    await admin.quit();
  };
  beforeAll(async () => {
    testRedis = await startRedis();
  });
  afterAll(async () => {
    await testRedis?.stop();
  });

  it('reports a process whose HYDRA_RETENTION differs from the one announced, and agreement otherwise', async () => {
    await flush();
    const first = createBackplane({ kind: 'redis', url: testRedis.url, retention: standard });
    const same = createBackplane({ kind: 'redis', url: testRedis.url, retention: standard });
    const odd = createBackplane({ kind: 'redis', url: testRedis.url, retention: shortTtl });
    try {
      expect(await first.retentionAgreement.announce()).toEqual({
        agrees: true,
        ours: formatRetention(standard),
        announced: undefined,
      });
      expect((await same.retentionAgreement.announce()).agrees).toBe(true);

      // The odd one out learns at its announcement; the others at their next check.
      const oddStart = await odd.retentionAgreement.announce();
      expect(oddStart).toMatchObject({ agrees: false, announced: formatRetention(standard) });
      expect(oddStart.ours).toContain('aircraft:ttl=5000');
      expect(await first.retentionAgreement.check()).toMatchObject({
        agrees: false,
        announced: formatRetention(shortTtl),
      });
    } finally {
      await Promise.all([first.close(), same.close(), odd.close()]);
    }
  });

  it('RetentionWatch reports a mismatch once per episode', async () => {
    await flush();
    const other = createBackplane({ kind: 'redis', url: testRedis.url, retention: shortTtl });
    const ours = createBackplane({ kind: 'redis', url: testRedis.url, retention: standard });
    const mismatches: RetentionCheck[] = [];
    const checks: RetentionCheck[] = [];
    const watch = new RetentionWatch({
      agreement: ours.retentionAgreement,
      intervalMs: 20,
      onCheck: (c) => checks.push(c),
      onMismatch: (c) => mismatches.push(c),
      onError: () => undefined,
    });
    try {
      await other.retentionAgreement.announce();
      watch.start();
      await expect.poll(() => checks.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
      // Ours announced over the other's: a mismatch, then agreement with itself until the other announces again.
      expect(mismatches).toHaveLength(1);
      await expect.poll(() => checks.at(-1)?.agrees, { timeout: 5_000 }).toBe(true);
      await other.retentionAgreement.announce();
      await expect.poll(() => mismatches.length, { timeout: 5_000 }).toBe(2);
      const seen = checks.length;
      await expect.poll(() => checks.length, { timeout: 5_000 }).toBeGreaterThan(seen + 3);
      expect(mismatches).toHaveLength(2);
    } finally {
      watch.stop();
      await Promise.all([other.close(), ours.close()]);
    }
  });

  it('announces again when the key is gone (Redis restarted empty), so later processes are still compared', async () => {
    await flush();
    const ours = createBackplane({ kind: 'redis', url: testRedis.url, retention: standard });
    const later = createBackplane({ kind: 'redis', url: testRedis.url, retention: shortTtl });
    try {
      await ours.retentionAgreement.announce();
      await flush();
      expect((await ours.retentionAgreement.check()).agrees).toBe(true);
      expect((await later.retentionAgreement.check()).agrees).toBe(false);
    } finally {
      await Promise.all([ours.close(), later.close()]);
    }
  });

  it('formats a policy in HYDRA_RETENTION syntax that parses back to the same policy', () => {
    expect(parseRetention(formatRetention(shortTtl))).toEqual(shortTtl);
    expect(formatRetention(standard)).not.toEqual(formatRetention(shortTtl));
  });

  it('in memory a process always agrees with itself', async () => {
    const memory = createBackplane({ kind: 'memory', retention: shortTtl });
    expect((await memory.retentionAgreement.announce()).agrees).toBe(true);
    expect((await memory.retentionAgreement.check()).agrees).toBe(true);
    await memory.close();
  });
});
