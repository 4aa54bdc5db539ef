/**
 * An async iterator fed by a push source: `push(value)` queues a value,
 * `push(null)` ends it (the values queued before are still read). Its
 * buffer is unbounded: a reader slower than the stream grows it.
 */
export interface PushIterator<T> {
  iterator: AsyncIterableIterator<T>;
  push(value: T | null): void;
}

/** `onReturn` runs once when the reader stops early (`break` in `for await`). */
export function pushIterator<T>(ended: boolean, onReturn: () => void): PushIterator<T> {
  const queue: T[] = [];
  let done = ended;
  let wake: (() => void) | null = null;
  const push = (value: T | null) => {
    if (value === null) done = true;
    else if (!done) queue.push(value);
    wake?.();
  };
  const iterator: AsyncIterableIterator<T> = {
    next: async () => {
      while (queue.length === 0 && !done) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      wake = null;
      return queue.length > 0 ? { value: queue.shift() as T, done: false } : { value: undefined, done: true };
    },
    return: async () => {
      if (!done) onReturn();
      done = true;
      queue.length = 0;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return { iterator, push };
}
