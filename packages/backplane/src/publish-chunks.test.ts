import type { Scope } from '@hydra/protocol';
import { describe, expect, it } from 'vitest';
import { planPublishChunks } from './publish-chunks.js';

const data = (n: number) => ({ dataJson: 'x'.repeat(n) });

describe('planPublishChunks', () => {
  it('groups by scope, keeps each scope in input order and starts a new chunk at the event bound', () => {
    const scopes: Scope[] = ['signals', 'aircraft', 'signals', 'signals', 'aircraft', 'signals'];
    const chunks = planPublishChunks(
      scopes,
      scopes.map(() => data(1)),
      2,
      1_000,
    );
    expect(chunks).toEqual([
      { scope: 'signals', indexes: [0, 2] },
      { scope: 'aircraft', indexes: [1, 4] },
      { scope: 'signals', indexes: [3, 5] },
    ]);
  });

  it('starts a new chunk at the byte bound, and gives an event over it a chunk of its own', () => {
    const scopes: Scope[] = ['cyber', 'cyber', 'cyber', 'cyber'];
    const chunks = planPublishChunks(scopes, [data(6), data(4), data(50), data(1)], 100, 10);
    expect(chunks.map((c) => c.indexes)).toEqual([[0, 1], [2], [3]]);
  });
});
