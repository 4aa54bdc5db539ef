import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WriteCoalescer } from './write-coalescer.js';

describe('WriteCoalescer', () => {
  let clock = 0;
  const now = () => clock;
  const advance = (ms: number) => {
    clock += ms;
    vi.advanceTimersByTime(ms);
  };
  beforeEach(() => {
    vi.useFakeTimers();
    clock = 1000;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers an event after a quiet interval at once', () => {
    const batches: number[][] = [];
    const c = new WriteCoalescer<number>(50, (items) => batches.push([...items]), now);
    c.push(1);
    expect(batches).toEqual([[1]]);
    advance(60);
    c.push(2);
    expect(batches).toEqual([[1], [2]]);
  });

  it('holds events arriving within the interval and delivers them together, in order, one interval after the last flush', () => {
    const batches: number[][] = [];
    const c = new WriteCoalescer<number>(50, (items) => batches.push([...items]), now);
    c.push(1);
    advance(10);
    c.push(2);
    advance(10);
    c.push(3);
    expect(batches).toEqual([[1]]);
    advance(29);
    expect(batches).toEqual([[1]]);
    advance(1);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('flush() delivers what is pending at once and cancels the timer', () => {
    const batches: number[][] = [];
    const c = new WriteCoalescer<number>(50, (items) => batches.push([...items]), now);
    c.push(1);
    c.push(2);
    c.flush();
    expect(batches).toEqual([[1], [2]]);
    advance(100);
    expect(batches).toEqual([[1], [2]]);
    c.flush();
    expect(batches).toHaveLength(2);
  });

  it('with interval 0 delivers every event synchronously, one by one', () => {
    const batches: number[][] = [];
    const c = new WriteCoalescer<number>(0, (items) => batches.push([...items]), now);
    c.push(1);
    c.push(2);
    expect(batches).toEqual([[1], [2]]);
  });
});
