import type { Backplane, ConnectionLimiter } from '@hydra/backplane';
import { RetentionWatch } from '@hydra/backplane';
import { frameTs, SCOPE_KIND, SCOPES, type Scope } from '@hydra/protocol';
import type { GatewayConfig } from './config.js';
import { describeError } from './describe-error.js';
import { FallbackConnectionLimiter } from './fallback-connection-limiter.js';
import { KeyCache } from './key-cache.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { PacedSender } from './paced-sender.js';
import { ScopeStream } from './scope-stream.js';
import type { SessionRegistry } from './session-registry.js';
import { SnapshotCache } from './snapshot-cache.js';
import { loadUws, type TemplatedApp, type UwsModule } from './uws.js';
import { WriteCoalescer } from './write-coalescer.js';

/**
 * The gateway's collaborators that take more than a line to build from its
 * config (gateway.ts wires them together).
 */

/** How long a new snapshot read is reused for later connects (bounds expiry staleness only). */
const SNAPSHOT_REUSE_MS = 1000;
/** How often this replica compares its HYDRA_RETENTION with the backplane's (RetentionWatch). */
const RETENTION_CHECK_MS = 30_000;

/** One live event as the bus delivered it. */
export interface LiveEvent {
  scope: Scope;
  seq: number;
  frame: Buffer;
}

/** The uWS app (TLS or plain) on the given uWS module, or on the native one loadUws() finds. */
export function createApp(
  given: UwsModule | undefined,
  config: GatewayConfig,
  log: Logger,
): { uws: UwsModule; app: TemplatedApp } {
  const loaded = given ? { uws: given, native: true } : loadUws({ allowFallback: config.allowUwsFallback });
  const { uws } = loaded;
  if (!loaded.native) {
    log.warn(
      'running on the pure-JS uWebSockets.js fallback (HYDRA_ALLOW_UWS_FALLBACK=true): far slower than the native build',
    );
  }
  const app = config.tls
    ? uws.SSLApp({ cert_file_name: config.tls.certFile, key_file_name: config.tls.keyFile })
    : uws.App();
  return { uws, app };
}

export function createKeyCache(backplane: Backplane, config: GatewayConfig, metrics: GatewayMetrics): KeyCache {
  return new KeyCache(backplane.keys, {
    ttlMs: config.keyCacheTtlMs,
    negativeTtlMs: config.keyCacheNegativeTtlMs,
    onLookup: (result) => metrics.keyCacheLookups.inc({ result }),
    timeStoreRead: (read) => metrics.timeRedis('key_lookup', read),
  });
}

/** Redis unreachable: per-IP decisions fall back to a per-node cap (policy in fallback-connection-limiter.ts). */
export function createLimiter(backplane: Backplane, config: GatewayConfig, metrics: GatewayMetrics): ConnectionLimiter {
  return new FallbackConnectionLimiter(
    backplane.createLimiter({
      nodeId: config.nodeId,
      maxPerIp: config.maxConnectionsPerIp,
      leaseMs: config.limiterLeaseMs,
    }),
    {
      maxPerIp: config.maxConnectionsPerIp,
      isHealthy: () => backplane.isHealthy(),
      onLocalDecision: (granted) => metrics.limiterLocalDecisions.inc({ decision: granted ? 'granted' : 'refused' }),
    },
  );
}

export interface ScopeStreamsWiring {
  app: TemplatedApp;
  backplane: Backplane;
  config: GatewayConfig;
  metrics: GatewayMetrics;
  log: Logger;
  pacer: PacedSender;
  registry: SessionRegistry;
  afterFanOut: (frameBytes: number) => void;
  flushLiveEvents: () => void;
  isDraining: () => boolean;
}

/** One ScopeStream per scope. */
export function createScopeStreams(w: ScopeStreamsWiring): Record<Scope, ScopeStream> {
  const { app, backplane, config, metrics, log, pacer } = w;
  const streams = {} as Record<Scope, ScopeStream>;
  for (const scope of SCOPES) {
    streams[scope] = new ScopeStream(scope, {
      app,
      snapshots: new SnapshotCache(scope, backplane.snapshots, metrics, SNAPSHOT_REUSE_MS, config.snapshotChunkBytes),
      history: backplane.history,
      sessionsOf: (s) => w.registry.sessionsOfScope(s),
      metrics,
      log,
      pacer,
      afterFanOut: w.afterFanOut,
      flushLiveEvents: w.flushLiveEvents,
      regionChunkBytes: SCOPE_KIND[scope] === 'entity' ? config.snapshotChunkBytes : undefined,
      // Not while draining: the backplane is then closing, not coming back.
      backplaneReconnecting: () => !w.isDraining() && !backplane.isHealthy(),
    });
  }
  return streams;
}

/** Live events from the bus, handed to their scope streams in batches (HYDRA_WRITE_COALESCE_MS). */
export function createLiveEvents(
  config: GatewayConfig,
  streams: Record<Scope, ScopeStream>,
  metrics: GatewayMetrics,
  log: Logger,
): WriteCoalescer<LiveEvent> {
  // Each event on its own: one that throws is counted and logged, and the rest of the batch still goes
  // out (a scope whose event failed recovers from history at its next event: a seq gap).
  return new WriteCoalescer<LiveEvent>(config.writeCoalesceMs, (events) => {
    for (const { scope, seq, frame } of events) {
      try {
        streams[scope]?.onEvent(seq, frame, frameTs(frame));
      } catch (err) {
        metrics.errors.inc({ kind: 'live_event' });
        log.error({ err: describeError(err), scope, seq }, 'live event failed');
      }
    }
  });
}

export function createRetentionWatch(backplane: Backplane, metrics: GatewayMetrics, log: Logger): RetentionWatch {
  return new RetentionWatch({
    agreement: backplane.retentionAgreement,
    intervalMs: RETENTION_CHECK_MS,
    onCheck: (check) => metrics.retentionMismatch.set(check.agrees ? 0 : 1),
    onMismatch: (check) =>
      log.error(
        { ours: check.ours, theirs: check.theirs },
        'HYDRA_RETENTION differs from another process on this backplane: every gateway and publisher must use the same value',
      ),
    onError: () => metrics.errors.inc({ kind: 'retention_check' }),
  });
}
