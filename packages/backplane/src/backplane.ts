import type { RedisTarget } from '@hydra/config';
import type { ConnectionLimiter } from './connection-limiter.js';
import type { BusDropListener, EventBus } from './event-bus.js';
import type { HistoryStore } from './history-store.js';
import type { KeyStore } from './key-store.js';
import type { RetentionPolicy } from './retention.js';
import type { RetentionAgreement } from './retention-agreement.js';
import type { SnapshotStore } from './snapshot-store.js';

/** Everything a gateway or publisher needs from the shared state, on one backend. */
export interface Backplane {
  readonly kind: 'redis' | 'memory';
  readonly keys: KeyStore;
  readonly snapshots: SnapshotStore;
  readonly bus: EventBus;
  /** Per-scope replayable history, written atomically with each publish (resume). */
  readonly history: HistoryStore;
  /** Whether every process on this backplane runs with the same HYDRA_RETENTION (RetentionWatch). */
  readonly retentionAgreement: RetentionAgreement;
  /** Builds a per-node limiter (a gateway has one). */
  createLimiter(options: import('./connection-limiter.js').ConnectionLimiterOptions): ConnectionLimiter;
  /**
   * Removes every entity past its scope TTL and announces each with exactly
   * one removal event (see EntityExpirer), all entity scopes, in batches until
   * none is left. Resolves with the number of removals THIS call published;
   * safe to run from any number of processes at once. Rejects if the backend
   * is unreachable (removals done before that stay done and announced).
   * ExpirySweeper runs it periodically.
   */
  sweepExpired(): Promise<number>;
  /** True while the backend is reachable (always true in memory). */
  isHealthy(): boolean;
  /** Closes what this backplane opened (not injected clients). Idempotent. */
  close(): Promise<void>;
}

export type BackplaneConfig =
  | ({ kind: 'redis'; url: string } & RedisBackplaneCommon)
  | ({ kind: 'redis'; target: RedisTarget } & RedisBackplaneCommon)
  | { kind: 'memory'; retention: RetentionPolicy; onBusDrop?: BusDropListener; dedupeWindowMs?: number | undefined };

interface RedisBackplaneCommon {
  retention: RetentionPolicy;
  connectionEvents?: RedisConnectionEvents | undefined;
  /** publish() waits until this many replicas hold each batch (HYDRA_INGEST_MIN_REPLICAS); default 0. */
  minReplicas?: number | undefined;
  /** How long it waits for them (default 1000 ms). */
  replicaTimeoutMs?: number | undefined;
  /** How long log scopes remember idempotency keys (HYDRA_INGEST_DEDUPE_WINDOW); default DEFAULT_DEDUPE_WINDOW_MS, 0 = off. */
  dedupeWindowMs?: number | undefined;
  /** Told of each bus message dropped (malformed) and each exception a bus handler threw. */
  onBusDrop?: BusDropListener | undefined;
}

/** The backplane's Redis connections: `command` (scripts, key store, limiter, history) and `subscriber` (pub/sub). */
export type RedisConnectionRole = 'command' | 'subscriber';

/**
 * What a Redis backplane reports about its connections, for metrics. Called
 * synchronously from the client's event handlers; must not throw.
 */
export interface RedisConnectionEvents {
  /** The connection was lost (or could not be opened) and a reconnect attempt is scheduled. */
  onReconnecting(connection: RedisConnectionRole): void;
  /** The connection reported an error (a failed connect, a reset, a protocol error). */
  onError(connection: RedisConnectionRole, error: Error): void;
  /**
   * ioredis had left the connection in status `end` though the backplane was
   * not closing (ended-connection-revival.ts: a Sentinel failover can do
   * that), and the backplane is connecting it again: `attempt` counts these
   * since the connection was last ready.
   */
  onRevived(connection: RedisConnectionRole, attempt: number): void;
}
