import { describe, expect, it } from 'vitest';
import { TileSubscriptions } from './region-tile-subscriptions.js';

describe('TileSubscriptions', () => {
  it('counts no client on any tile before the first one', () => {
    expect(new TileSubscriptions<string>(() => {}).clientsOf(7)).toBe(0);
  });

  it('counts the tiles with at least one live client, and the live clients of each tile, each client once', () => {
    const told: number[] = [];
    const subs = new TileSubscriptions<string>((topics) => told.push(topics));
    subs.add('a', Uint16Array.of(1, 2, 3));
    subs.add('b', Uint16Array.of(3, 4));
    subs.add('b', Uint16Array.of(3, 4)); // again: no change
    expect(subs.topics).toBe(4);
    expect([0, 1, 2, 3, 4].map((tile) => subs.clientsOf(tile))).toEqual([0, 1, 1, 2, 1]);
    subs.remove('a', Uint16Array.of(1, 2, 3));
    expect(subs.topics).toBe(2); // 3 and 4, b's
    expect([0, 1, 2, 3, 4].map((tile) => subs.clientsOf(tile))).toEqual([0, 0, 0, 1, 1]);
    subs.remove('a', Uint16Array.of(1, 2, 3)); // not live any more: no change
    subs.remove('c', Uint16Array.of(4)); // never live
    expect(subs.topics).toBe(2);
    subs.remove('b', Uint16Array.of(3, 4));
    expect(subs.topics).toBe(0);
    expect(told).toEqual([3, 4, 2, 0]);
  });
});
