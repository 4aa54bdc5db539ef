import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EndedConnectionRevival } from './ended-connection-revival.js';
import { redisReconnectDelay } from './redis-connections.js';

/**
 * The revival's decisions (when to connect, how long to wait, when not to),
 * on a stand-in for the ioredis client: its `status`, its 'end' and 'ready'
 * events and connect(). The real client is in test/ended-connection-revival.test.ts.
 */
class FakeClient extends EventEmitter {
  status = 'ready';
  connects = 0;
  connect(): Promise<void> {
    this.connects++;
    this.status = 'connecting';
    return Promise.resolve();
  }
  /** ioredis gave up: status `end`, then the 'end' event. */
  end(): void {
    this.status = 'end';
    this.emit('end');
  }
  ready(): void {
    this.status = 'ready';
    this.emit('ready');
  }
}

describe('EndedConnectionRevival', () => {
  let client: FakeClient;
  let attempts: number[];
  let revival: EndedConnectionRevival;

  beforeEach(() => {
    vi.useFakeTimers();
    client = new FakeClient();
    attempts = [];
    revival = new EndedConnectionRevival({
      client: client as unknown as Redis,
      onRevive: (attempt) => attempts.push(attempt),
    });
  });

  afterEach(() => {
    revival.stop();
    vi.useRealTimers();
  });

  it('connects an ended client after the first reconnect delay, reporting attempt 1 just before', () => {
    client.end();
    vi.advanceTimersByTime(redisReconnectDelay(1) - 1);
    expect(client.connects).toBe(0);
    vi.advanceTimersByTime(1);
    expect(client.connects).toBe(1);
    expect(attempts).toEqual([1]);
  });

  it('waits longer for each attempt that ends again, and starts over once the client was ready', () => {
    for (const attempt of [1, 2, 3]) {
      client.end();
      vi.advanceTimersByTime(redisReconnectDelay(attempt) - 1);
      expect(client.connects).toBe(attempt - 1);
      vi.advanceTimersByTime(1);
      expect(client.connects).toBe(attempt);
    }
    expect(redisReconnectDelay(3)).toBeGreaterThan(redisReconnectDelay(1));
    client.ready();
    client.end();
    vi.advanceTimersByTime(redisReconnectDelay(1));
    expect(attempts).toEqual([1, 2, 3, 1]);
  });

  it('keeps one attempt pending however many ends come meanwhile', () => {
    client.end();
    client.end();
    client.emit('end');
    vi.advanceTimersByTime(redisReconnectDelay(1));
    expect(client.connects).toBe(1);
    expect(attempts).toEqual([1]);
  });

  it('does not connect a client that left `end` before its attempt', () => {
    client.end();
    client.status = 'connecting';
    vi.advanceTimersByTime(redisReconnectDelay(1));
    expect(client.connects).toBe(0);
    expect(attempts).toEqual([]);
  });

  it('after stop(), cancels the pending attempt and leaves every later end alone', () => {
    client.end();
    revival.stop();
    vi.advanceTimersByTime(redisReconnectDelay(1));
    client.end();
    vi.advanceTimersByTime(10_000);
    expect(client.connects).toBe(0);
    expect(attempts).toEqual([]);
    expect(client.listenerCount('end') + client.listenerCount('ready')).toBe(0);
  });

  it('connects even when the listener throws', () => {
    revival.stop();
    revival = new EndedConnectionRevival({
      client: client as unknown as Redis,
      onRevive: () => {
        throw new Error('listener bug');
      },
    });
    client.end();
    vi.advanceTimersByTime(redisReconnectDelay(1));
    expect(client.connects).toBe(1);
  });

  it('swallows a rejected connect (the client reports it, and ends again or reconnects by itself)', async () => {
    const rejected = vi.fn(() => Promise.reject(new Error('Connection is closed.')));
    client.connect = rejected;
    client.end();
    vi.advanceTimersByTime(redisReconnectDelay(1));
    await Promise.resolve();
    expect(rejected).toHaveBeenCalledTimes(1);
  });
});
