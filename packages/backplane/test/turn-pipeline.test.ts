import { startRedis, type TestRedis } from '@hydra/test-support';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TurnPipeline } from '../src/turn-pipeline.js';

let testRedis: TestRedis;
let redis: Redis;

beforeAll(async () => {
  testRedis = await startRedis();
  redis = testRedis.client();
});

afterAll(async () => {
  redis?.disconnect();
  await testRedis?.stop();
});

describe('TurnPipeline', () => {
  it('sends the commands of one event-loop turn as one pipeline, each answered with its own reply', async () => {
    const pipeline = new TurnPipeline(redis);
    const pipelines = vi.spyOn(redis, 'pipeline');
    const replies = Array.from({ length: 300 }, (_, i) =>
      pipeline.send({ key: `tp:${i % 7}`, command: ['incr', `tp:${i % 7}`] }),
    );
    const answers = (await Promise.all(replies)) as number[];
    expect(pipelines).toHaveBeenCalledTimes(1);
    // Per key, the increments ran in the order they were sent.
    for (let k = 0; k < 7; k++) {
      const mine = answers.filter((_, i) => i % 7 === k);
      expect(mine).toEqual(mine.map((_, j) => j + 1));
    }
    // A later turn is a pipeline of its own.
    await pipeline.send({ key: 'tp:0', command: ['get', 'tp:0'] });
    expect(pipelines).toHaveBeenCalledTimes(2);
    pipelines.mockRestore();
  });

  it('rejects only the command that failed', async () => {
    const pipeline = new TurnPipeline(redis);
    await redis.set('tp:text', 'not a number');
    const [ok, bad, ok2] = await Promise.allSettled([
      pipeline.send({ key: 'tp:a', command: ['set', 'tp:a', '1'] }),
      pipeline.send({ key: 'tp:text', command: ['incr', 'tp:text'] }),
      pipeline.send({ key: 'tp:a', command: ['get', 'tp:a'] }),
    ]);
    expect(ok).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(bad?.status).toBe('rejected');
    expect(String((bad as PromiseRejectedResult).reason)).toMatch(/not an integer/);
    expect(ok2).toEqual({ status: 'fulfilled', value: '1' });
  });

  it('splits a large turn into pipelines of at most 500, all answered', async () => {
    const pipeline = new TurnPipeline(redis);
    const pipelines = vi.spyOn(redis, 'pipeline');
    const answers = await Promise.all(
      Array.from({ length: 1201 }, (_, i) => pipeline.send({ key: 'tp:n', command: ['echo', String(i)] })),
    );
    expect(pipelines).toHaveBeenCalledTimes(3);
    expect(answers).toEqual(Array.from({ length: 1201 }, (_, i) => String(i)));
    pipelines.mockRestore();
  });

  it('flush writes the queued commands ahead of a command issued after it, and resolves once they are answered', async () => {
    const pipeline = new TurnPipeline(redis);
    await redis.set('tp:order', '0');
    const queued = pipeline.send({ key: 'tp:order', command: ['set', 'tp:order', 'queued'] });
    const flushed = pipeline.flush();
    // Written directly on the connection after the flush: it must land last.
    await redis.set('tp:order', 'after');
    await flushed;
    expect(await queued).toBe('OK');
    expect(await redis.get('tp:order')).toBe('after');
  });
});
