import type { Scope } from '@hydra/protocol';
import type { MemoryScopeState } from './memory-scope-state.js';
import type { ScopeSnapshot, SnapshotStore } from './snapshot-store.js';

/**
 * SnapshotStore for one process: reads the MemoryScopeState that the
 * backplane's MemoryEventBus writes. A read is synchronous, hence atomic with
 * respect to publishes, like snapshot.lua on Redis.
 */
export class MemorySnapshotStore implements SnapshotStore {
  readonly #state: MemoryScopeState;

  constructor(state: MemoryScopeState) {
    this.#state = state;
  }

  async read(scope: Scope): Promise<ScopeSnapshot> {
    return this.#state.read(scope);
  }
}
