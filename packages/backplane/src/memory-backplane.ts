import type { Backplane } from './backplane.js';
import type { ConnectionLimiter, ConnectionLimiterOptions } from './connection-limiter.js';
import { sweepExpiredEntities } from './entity-expiry.js';
import type { BusDropListener } from './event-bus.js';
import { MemoryConnectionLimiter, MemoryLimiterState } from './memory-connection-limiter.js';
import { MemoryEventBus } from './memory-event-bus.js';
import { MemoryHistoryStore } from './memory-history-store.js';
import { MemoryKeyStore } from './memory-key-store.js';
import { MemoryScopeState } from './memory-scope-state.js';
import { MemorySnapshotStore } from './memory-snapshot-store.js';
import type { RetentionPolicy } from './retention.js';
import { type RetentionAgreement, soleProcessRetentionAgreement } from './retention-agreement.js';

export interface MemoryBackplaneOptions {
  retention: RetentionPolicy;
  /** Clock (epoch ms) for timestamps, TTLs and history age; defaults to Date.now. For tests. */
  now?: () => number;
  /** Told of each exception a bus handler threw (caught by the bus). */
  onBusDrop?: BusDropListener | undefined;
  /** How long log scopes remember idempotency keys (MemoryEventBusOptions.dedupeWindowMs). */
  dedupeWindowMs?: number | undefined;
}

/**
 * The backplane of the embedded mode: everything in this process's memory,
 * for ONE process only (a second process would see none of it). Same
 * contract as RedisBackplane: the bus, the snapshot store and the history
 * share one MemoryScopeState, key revocations reach bus subscribers (onKeyRevoked),
 * and all limiters of this backplane share one MemoryLimiterState.
 */
export class MemoryBackplane implements Backplane {
  readonly kind = 'memory' as const;
  readonly keys: MemoryKeyStore;
  readonly snapshots: MemorySnapshotStore;
  readonly bus: MemoryEventBus;
  readonly history: MemoryHistoryStore;
  readonly retentionAgreement: RetentionAgreement;
  readonly #limiterState = new MemoryLimiterState();
  readonly #limiters = new Set<ConnectionLimiter>();
  #closing: Promise<void> | undefined;

  constructor(options: MemoryBackplaneOptions) {
    const state = new MemoryScopeState({
      retention: options.retention,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.bus = new MemoryEventBus({ state, onDrop: options.onBusDrop, dedupeWindowMs: options.dedupeWindowMs });
    this.snapshots = new MemorySnapshotStore(state);
    this.history = new MemoryHistoryStore(state);
    this.retentionAgreement = soleProcessRetentionAgreement(options.retention);
    this.keys = new MemoryKeyStore({ onRevoked: (keyId) => this.bus.notifyKeyRevoked(keyId) });
  }

  createLimiter(options: ConnectionLimiterOptions): ConnectionLimiter {
    const limiter = new MemoryConnectionLimiter(this.#limiterState, options);
    this.#limiters.add(limiter);
    return limiter;
  }

  sweepExpired(): Promise<number> {
    return sweepExpiredEntities(this.bus);
  }

  /** Always true: memory is always reachable. */
  isHealthy(): boolean {
    return true;
  }

  /** Closes the bus subscriptions and the limiters it created (no slots released: releaseAll does). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.bus.close();
      await Promise.all([...this.#limiters].map((l) => l.close()));
    })();
    return this.#closing;
  }
}
