import type { ConnectionLimiter } from './connection-limiter.js';
import type { EventBus } from './event-bus.js';
import type { KeyStore } from './key-store.js';
import type { RetentionPolicy } from './retention.js';
import type { SnapshotStore } from './snapshot-store.js';

/** Everything a gateway or publisher needs from the shared state, on one backend. */
export interface Backplane {
  readonly kind: 'redis' | 'memory';
  readonly keys: KeyStore;
  readonly snapshots: SnapshotStore;
  readonly bus: EventBus;
  /** Builds a per-node limiter (a gateway has one). */
  createLimiter(options: import('./connection-limiter.js').ConnectionLimiterOptions): ConnectionLimiter;
  /** True while the backend is reachable (always true in memory). */
  isHealthy(): boolean;
  /** Closes what this backplane opened (not injected clients). Idempotent. */
  close(): Promise<void>;
}

export type BackplaneConfig =
  | { kind: 'redis'; url: string; retention: RetentionPolicy }
  | { kind: 'memory'; retention: RetentionPolicy };
