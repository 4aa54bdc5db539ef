import { startRedis, type TestRedis } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBackplane,
  formatRetention,
  parseRetention,
  type RetentionCheck,
  RetentionWatch,
  redisKeys,
} from '../src/index.js';

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

  const TTL = 60_000;

  it('reports a mismatch to both sides while processes disagree, and agreement otherwise', async () => {
    await flush();
    const first = createBackplane({ kind: 'redis', url: testRedis.url, retention: standard });
    const same = createBackplane({ kind: 'redis', url: testRedis.url, retention: standard });
    const odd = createBackplane({ kind: 'redis', url: testRedis.url, retention: shortTtl });
    try {
      expect(await first.retentionAgreement.check(TTL)).toEqual({
        agrees: true,
        ours: formatRetention(standard),
        theirs: [],
      });
      expect((await same.retentionAgreement.check(TTL)).agrees).toBe(true);

      // The odd one out learns at its first check; the others at their next one.
      const oddStart = await odd.retentionAgreement.check(TTL);
      expect(oddStart).toMatchObject({ agrees: false, theirs: [formatRetention(standard)] });
      expect(oddStart.ours).toContain('aircraft:ttl=5000');
      expect(await first.retentionAgreement.check(TTL)).toMatchObject({
        agrees: false,
        theirs: [formatRetention(shortTtl)],
      });
      // The canary rolled back: once it withdrew, nobody reports a mismatch any more.
      await odd.retentionAgreement.withdraw();
      expect((await first.retentionAgreement.check(TTL)).agrees).toBe(true);
      expect((await same.retentionAgreement.check(TTL)).agrees).toBe(true);
    } finally {
      await Promise.all([first.close(), same.close(), odd.close()]);
    }
  });

  it('forgets a process that died without withdrawing once its entry expires (by the Redis clock)', async () => {
    await flush();
    const ours = createBackplane({ kind: 'redis', url: testRedis.url, retention: standard });
    const crashed = createBackplane({ kind: 'redis', url: testRedis.url, retention: shortTtl });
    try {
      await crashed.retentionAgreement.check(300);
      expect((await ours.retentionAgreement.check(TTL)).agrees).toBe(false);
      await expect
        .poll(async () => (await ours.retentionAgreement.check(TTL)).agrees, { timeout: 5_000, interval: 100 })
        .toBe(true);
      // The expired entry was deleted on the way: only ours is left.
      const admin = testRedis.client();
      expect(await admin.hlen(redisKeys.retentionProcesses())).toBe(1);
      await admin.quit();
    } finally {
      await Promise.all([ours.close(), crashed.close()]);
    }
  });

  it('RetentionWatch reports a mismatch once per episode, and withdraws on stop', async () => {
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
      await other.retentionAgreement.check(TTL);
      watch.start();
      await expect.poll(() => checks.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
      expect(mismatches).toHaveLength(1); // one episode, however many checks
      await other.retentionAgreement.withdraw();
      await expect.poll(() => checks.at(-1)?.agrees, { timeout: 5_000 }).toBe(true);
      await other.retentionAgreement.check(TTL);
      await expect.poll(() => mismatches.length, { timeout: 5_000 }).toBe(2);
      await watch.stop();
      expect((await other.retentionAgreement.check(TTL)).agrees).toBe(true); // ours withdrew
    } finally {
      await watch.stop();
      await Promise.all([other.close(), ours.close()]);
    }
  });

  it('writes its entry back at the next check when Redis lost it (restarted empty)', async () => {
    await flush();
    const ours = createBackplane({ kind: 'redis', url: testRedis.url, retention: standard });
    const later = createBackplane({ kind: 'redis', url: testRedis.url, retention: shortTtl });
    try {
      await ours.retentionAgreement.check(TTL);
      await flush();
      expect((await ours.retentionAgreement.check(TTL)).agrees).toBe(true);
      expect((await later.retentionAgreement.check(TTL)).agrees).toBe(false);
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
    expect((await memory.retentionAgreement.check(1000)).agrees).toBe(true);
    await memory.retentionAgreement.withdraw();
    await memory.close();
  });
});
