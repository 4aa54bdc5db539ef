import { describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.js';
import { createShutdown } from './shutdown.js';

const logger = createLogger({ level: 'silent' });

describe('createShutdown', () => {
  it('runs the steps once, in order, however often it is called', async () => {
    const order: string[] = [];
    const shutdown = createShutdown({
      logger,
      watchdogMs: 5000,
      exit: () => {},
      steps: [
        { name: 'a', run: async () => void order.push('a') },
        { name: 'b', run: async () => void order.push('b') },
      ],
    });
    const first = shutdown('SIGTERM');
    expect(shutdown('SIGINT')).toBe(first);
    await first;
    expect(order).toEqual(['a', 'b']);
    expect(process.exitCode).toBe(0);
    process.exitCode = undefined;
  });

  it('keeps going after a failing step and reports exit code 1', async () => {
    const ran = vi.fn(async () => {});
    await createShutdown({
      logger,
      watchdogMs: 5000,
      exit: () => {},
      steps: [
        {
          name: 'bad',
          run: async () => {
            throw new Error('boom');
          },
        },
        { name: 'next', run: ran },
      ],
    })('test');
    expect(ran).toHaveBeenCalledOnce();
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
  });

  it('exits 1 from the watchdog when a step hangs', async () => {
    vi.useFakeTimers();
    try {
      const exit = vi.fn();
      void createShutdown({
        logger,
        watchdogMs: 100,
        exit,
        steps: [{ name: 'hang', run: () => new Promise<void>(() => {}) }],
      })('test');
      await vi.advanceTimersByTimeAsync(150);
      expect(exit).toHaveBeenCalledWith(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
