import { formatResumePositions, ENTITY_SCOPES as PROTOCOL_ENTITY_SCOPES, type Scope } from '@hydra/protocol';
import { describe, expect, it } from 'vitest';
import { ENTITY_SCOPES, formatResume, ScopeView } from './scope-view.js';

describe('ScopeView', () => {
  it("copies the protocol's entity scopes and resume format (not imported, to keep protocol code out of the bundle)", () => {
    expect([...ENTITY_SCOPES]).toEqual([...PROTOCOL_ENTITY_SCOPES]);
    const positions = new Map<Scope, { seq: number; ts: number }>([
      ['aircraft', { seq: 12, ts: 1710000000456 }],
      ['signals', { seq: 3, ts: 0 }],
    ]);
    expect(formatResume(positions)).toBe(formatResumePositions(positions));
  });

  it('assembles snapshot parts, then keeps entities from upserts and removals', () => {
    const view = new ScopeView(true, 10);
    expect(view.addPart({ scope: 'aircraft', seq: 5, part: 1, parts: 2, complete: false, items: [{ id: 'a' }] })).toBe(
      null,
    );
    const items = view.addPart({ scope: 'aircraft', seq: 5, part: 2, parts: 2, complete: true, items: [{ id: 'b' }] });
    expect(items).toEqual([{ id: 'a' }, { id: 'b' }]);
    view.replace(items ?? [], 5, 99);
    view.apply(6, 100, { id: 'a', lat: 1 });
    view.apply(7, 101, { id: 'b', removed: true, reason: 'expired' });
    expect([...view.entities]).toEqual([['a', { id: 'a', lat: 1 }]]);
    expect(view.position).toEqual({ seq: 7, ts: 101 });
  });

  it('bounds the recent items of a log scope, newest last', () => {
    const view = new ScopeView(false, 3);
    view.replace([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }], 4, 1);
    expect(view.recent).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }]);
    view.apply(5, 2, { n: 5 });
    expect(view.recent).toEqual([{ n: 3 }, { n: 4 }, { n: 5 }]);
  });

  it('drops a snapshot cut short by the end of its connection', () => {
    const view = new ScopeView(true, 10);
    view.addPart({ scope: 'aircraft', seq: 5, part: 1, parts: 2, complete: false, items: [{ id: 'a' }] });
    view.abandonParts();
    expect(
      view.addPart({ scope: 'aircraft', seq: 9, part: 1, parts: 1, complete: true, items: [{ id: 'z' }] }),
    ).toEqual([{ id: 'z' }]);
  });
});
