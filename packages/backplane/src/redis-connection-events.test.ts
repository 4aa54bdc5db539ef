import { freePort } from '@hydra/test-support';
import { describe, expect, it } from 'vitest';
import { RedisBackplane } from './redis-backplane.js';
import { DEFAULT_RETENTION } from './retention.js';

describe('RedisBackplane connection events', () => {
  it('reports errors and reconnect attempts of each connection while Redis is unreachable', async () => {
    const port = await freePort(); // nothing listens there
    const want = ['error:command', 'error:subscriber', 'reconnecting:command', 'reconnecting:subscriber'];
    const seen = new Set<string>();
    let allSeen!: () => void;
    const done = new Promise<void>((resolve) => {
      allSeen = resolve;
    });
    const record = (entry: string) => {
      seen.add(entry);
      if (want.every((w) => seen.has(w))) allSeen();
    };
    const backplane = new RedisBackplane({
      url: `redis://127.0.0.1:${port}`,
      retention: DEFAULT_RETENTION,
      connectionEvents: {
        onError: (connection, error) => {
          expect(error).toBeInstanceOf(Error);
          record(`error:${connection}`);
        },
        onReconnecting: (connection) => record(`reconnecting:${connection}`),
        onRevived: (connection) => record(`revived:${connection}`),
      },
    });
    try {
      await done;
      expect([...seen].sort()).toEqual(want);
    } finally {
      await backplane.close();
    }
  });
});
