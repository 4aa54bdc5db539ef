import { describe, expect, it, vi } from 'vitest';
import { Shutdown } from './shutdown.js';

describe('Shutdown', () => {
  it('runs the steps once, in order, however often it is called, then exits 0', async () => {
    const order: string[] = [];
    const exit = vi.fn();
    const shutdown = new Shutdown({
      watchdogMs: 5000,
      exit,
      steps: [
        { name: 'a', run: async () => void order.push('a') },
        { name: 'b', run: () => void order.push('b') },
      ],
    });
    expect(shutdown.begun).toBe(false);
    const first = shutdown.run('SIGTERM');
    expect(shutdown.begun).toBe(true);
    expect(shutdown.run('SIGINT')).toBe(first);
    await first;
    expect(order).toEqual(['a', 'b']);
    expect(exit.mock.calls).toEqual([[0]]);
  });

  it('keeps going after a failing step and exits 1', async () => {
    const ran = vi.fn(async () => {});
    const exit = vi.fn();
    await new Shutdown({
      watchdogMs: 5000,
      exit,
      steps: [
        {
          name: 'bad',
          run: async () => {
            throw new Error('boom');
          },
        },
        { name: 'next', run: ran },
      ],
    }).run('test');
    expect(ran).toHaveBeenCalledOnce();
    expect(exit.mock.calls).toEqual([[1]]);
  });

  it("exits with the first caller's code (a failed start), and a later signal joins it", async () => {
    const exit = vi.fn();
    const shutdown = new Shutdown({ watchdogMs: 5000, exit, steps: [] });
    const failed = shutdown.run('start failed', 1);
    expect(shutdown.run('SIGINT')).toBe(failed);
    await failed;
    expect(exit.mock.calls).toEqual([[1]]);
  });

  it('exits 1 from the watchdog when a step hangs, reading the bound when it begins', async () => {
    vi.useFakeTimers();
    try {
      const exit = vi.fn();
      let bound = 0;
      const shutdown = new Shutdown({
        watchdogMs: () => bound,
        exit,
        steps: [{ name: 'hang', run: () => new Promise<void>(() => {}) }],
      });
      bound = 100;
      void shutdown.run('test');
      await vi.advanceTimersByTimeAsync(99);
      expect(exit).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(2);
      expect(exit.mock.calls).toEqual([[1]]);
    } finally {
      vi.useRealTimers();
    }
  });
});
