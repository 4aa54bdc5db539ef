import { describe, expect, it } from 'vitest';
import { ExpirySweeper } from './expiry-sweeper.js';

/** A fake backplane whose sweeps the test resolves or rejects one by one. */
function fakeBackplane() {
  const calls: Array<{ resolve: (n: number) => void; reject: (e: Error) => void }> = [];
  let waiting: (() => void) | undefined;
  return {
    calls,
    backplane: {
      sweepExpired: () =>
        new Promise<number>((resolve, reject) => {
          calls.push({ resolve, reject });
          waiting?.();
        }),
    },
    nextCall: (count: number) =>
      new Promise<void>((resolve) => {
        if (calls.length >= count) return resolve();
        waiting = () => {
          if (calls.length >= count) resolve();
        };
      }),
  };
}

describe('ExpirySweeper', () => {
  it('sweeps repeatedly, never overlapping, reporting results and errors without stopping', async () => {
    const fake = fakeBackplane();
    const swept: number[] = [];
    const errors: unknown[] = [];
    const sweeper = new ExpirySweeper({
      backplane: fake.backplane,
      intervalMs: 1,
      onSwept: (n) => swept.push(n),
      onError: (e) => errors.push(e),
    });
    sweeper.start();
    await fake.nextCall(1);
    // While the first sweep is pending no second one starts.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fake.calls).toHaveLength(1);
    fake.calls[0]!.reject(new Error('redis down'));
    await fake.nextCall(2);
    fake.calls[1]!.resolve(3);
    await fake.nextCall(3);
    expect(errors).toEqual([new Error('redis down')]);
    expect(swept).toEqual([3]);
    const stopped = sweeper.stop();
    fake.calls[2]!.resolve(0);
    await stopped;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fake.calls).toHaveLength(3);
    expect(swept).toEqual([3, 0]);
  });

  it('survives callbacks that throw, and refuses a non-positive interval', async () => {
    const fake = fakeBackplane();
    const sweeper = new ExpirySweeper({
      backplane: fake.backplane,
      intervalMs: 1,
      onSwept: () => {
        throw new Error('callback bug');
      },
    });
    sweeper.start();
    await fake.nextCall(1);
    fake.calls[0]!.resolve(1);
    await fake.nextCall(2);
    await Promise.all([sweeper.stop(), fake.calls[1]!.resolve(0)]);
    expect(() => new ExpirySweeper({ backplane: fake.backplane, intervalMs: 0 })).toThrow(RangeError);
  });
});
