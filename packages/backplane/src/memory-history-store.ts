import type { Scope } from '@hydra/protocol';
import { assertReadAfterArgs, type HistoryRead, type HistoryStore } from './history-store.js';
import type { MemoryScopeState } from './memory-scope-state.js';

/**
 * HistoryStore for one process: reads the history the backplane's
 * MemoryEventBus appends to its MemoryScopeState. A read is synchronous,
 * hence atomic with respect to publishes and sweeps, like history.lua.
 * Frames are the very Buffers subscribers were given.
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly #state: MemoryScopeState;

  constructor(state: MemoryScopeState) {
    this.#state = state;
  }

  async readAfter(scope: Scope, afterSeq: number, maxEvents: number, positionTs = 0): Promise<HistoryRead> {
    assertReadAfterArgs(afterSeq, maxEvents, positionTs);
    return this.#state.readHistory(scope, afterSeq, maxEvents, positionTs);
  }
}
