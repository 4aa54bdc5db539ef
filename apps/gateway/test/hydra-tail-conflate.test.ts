import { StreamFixture, spawnService } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

/** `hydra tail --conflate MS` (apps/cli/dist/cli.js) as a real process against a real gateway. */
describe('hydra tail --conflate', () => {
  let f: StreamFixture;

  beforeAll(async () => {
    f = await StreamFixture.start();
  });
  afterAll(async () => {
    await f?.stop();
  });

  const tail = (url: string, key: string, ...extra: string[]) =>
    spawnService('apps/cli/dist/cli.js', {}, ['tail', '--url', url, '--key', key, '--rate-interval', '0', ...extra]);

  it("shows each changed aircraft's latest state per interval, and takes the skipped seqs for no gap", async () => {
    const gw = await f.gateway();
    const k = await f.key(['aircraft']);
    const t = tail(gw.url, k.key, '--conflate', '1000');
    onTestFinished(() => t.stop());
    await t.waitForLog((l) => /snapshot aircraft seq=\d+ items=0/.test(String(l.msg)));
    let last = 0;
    for (let round = 1; round <= 5; round++) {
      for (const id of ['4ca2d1', '3c6444']) {
        last = await f.publish('aircraft', { id, callsign: `R${round}`, lat: 50, lon: 8, altBaroFt: 1000 * round });
      }
    }
    // The latest state of each, once per interval: the ten updates (published within a few ms, so at most one
    // flush boundary falls among them) show as at most two lines per aircraft.
    await t.waitForLog((l) => new RegExp(`aircraft #${last} 3c6444 R5`).test(String(l.msg)), 10_000);
    await t.waitForLog((l) => /aircraft #\d+ 4ca2d1 R5/.test(String(l.msg)));
    const lines = t.logs.map((l) => String(l.msg)).filter((line) => /aircraft #\d+ /.test(line));
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(t.stderr()).not.toMatch(/seq gap/);
  });

  it('exits 2 naming --conflate for a value outside the tiers', async () => {
    const t = tail(
      'ws://127.0.0.1:1/v1/stream',
      'hydra_k1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      '--conflate',
      '2000',
    );
    onTestFinished(() => t.stop());
    expect(await t.exited).toBe(2);
    expect(t.stderr()).toMatch(/--conflate must be one of 1000, 5000, 30000/);
  });
});
