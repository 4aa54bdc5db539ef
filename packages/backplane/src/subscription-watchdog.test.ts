import type { Scope } from '@hydra/protocol';
import { describe, expect, it } from 'vitest';
import { SubscriptionWatchdog } from './subscription-watchdog.js';

function watchdog() {
  let seqs = new Map<Scope, number>([
    ['signals', 10],
    ['aircraft', 5],
  ]);
  const reports: Scope[][] = [];
  const dog = new SubscriptionWatchdog({
    intervalMs: 60_000,
    readSeqs: async () => seqs,
    onSilent: (scopes) => reports.push([...scopes]),
  });
  return {
    dog,
    reports,
    set: (next: Record<string, number>) => {
      seqs = new Map(Object.entries(next) as Array<[Scope, number]>);
    },
  };
}

describe('SubscriptionWatchdog', () => {
  it('takes a baseline first: history before the subscription is not silence', async () => {
    const { dog, reports } = watchdog();
    await dog.check();
    await dog.check();
    expect(reports).toEqual([]);
  });

  it('stays quiet while what Redis assigned is delivered, even if it arrives after the read', async () => {
    const { dog, reports, set } = watchdog();
    await dog.check();
    set({ signals: 12, aircraft: 5 });
    await dog.check(); // 11 and 12 are in flight at this read
    dog.delivered('signals', 11);
    dog.delivered('signals', 12);
    await dog.check();
    expect(reports).toEqual([]);
  });

  it('reports a scope whose seq grew a whole interval ago without a delivery, then re-baselines', async () => {
    const { dog, reports, set } = watchdog();
    await dog.check();
    set({ signals: 13, aircraft: 6 });
    await dog.check();
    dog.delivered('aircraft', 6);
    await dog.check();
    expect(reports).toEqual([['signals']]);
    await dog.check();
    await dog.check();
    expect(reports).toEqual([['signals']]);
  });

  it('follows a seq that went back (Redis restarted empty) instead of reporting it', async () => {
    const { dog, reports, set } = watchdog();
    await dog.check();
    set({ signals: 1, aircraft: 0 });
    await dog.check();
    dog.delivered('signals', 1);
    await dog.check();
    expect(reports).toEqual([]);
  });
});
