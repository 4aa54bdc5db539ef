import { describe, expect, it } from 'vitest';
import { type BacklogState, isStalled, STALL_FLOOR_BYTES, stallFloor } from './slow-consumer-policy.js';

const KB = 1024;

describe('slow-consumer check', () => {
  it('calls a client slow after two checks above the floor without its backlog shrinking', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    expect(isStalled(s, 10 * KB, 64 * KB)).toBe(false); // below the floor
    expect(isStalled(s, 70 * KB, 64 * KB)).toBe(false); // first strike
    expect(isStalled(s, 90 * KB, 64 * KB)).toBe(true); // grew again: slow
  });

  it('counts a flat backlog (read nothing, nothing new) as a stall', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    isStalled(s, 100 * KB, 64 * KB);
    expect(isStalled(s, 100 * KB, 64 * KB)).toBe(true);
  });

  it('leaves alone a client draining a burst, however large', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    for (const backlog of [900, 800, 650, 500, 300, 100, 0]) expect(isStalled(s, backlog * KB, 64 * KB)).toBe(false);
  });

  it('forgives one stall followed by progress', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    expect(isStalled(s, 100 * KB, 64 * KB)).toBe(false);
    expect(isStalled(s, 80 * KB, 64 * KB)).toBe(false); // read some: strikes reset
    expect(isStalled(s, 90 * KB, 64 * KB)).toBe(false);
    expect(isStalled(s, 95 * KB, 64 * KB)).toBe(true);
  });

  it('keeps the floor at most a quarter of the hard limit', () => {
    expect(stallFloor(1024 * KB)).toBe(STALL_FLOOR_BYTES);
    expect(stallFloor(64 * KB)).toBe(16 * KB);
  });

  it('leaves alone a client whose socket drained since the last check, though the backlog was refilled', () => {
    const s: BacklogState = { backlog: 0, stalls: 0 };
    for (let i = 0; i < 10; i++) expect(isStalled(s, (200 + i) * KB, 64 * KB, true)).toBe(false);
    expect(isStalled(s, 210 * KB, 64 * KB, false)).toBe(false); // first strike without a drain
    expect(isStalled(s, 210 * KB, 64 * KB, false)).toBe(true);
  });
});
