import type { Backplane, BusSubscription, ConnectionLimiter } from '@hydra/backplane';
import { ExpirySweeper, type RetentionWatch } from '@hydra/backplane';
import { type ConsoleAssets, loadConsoleAssets } from '@hydra/console';
import { CloseCode, CloseReason, SCOPES, type Scope } from '@hydra/protocol';
import { AdminServer } from './admin-server.js';
import { AdmissionControl } from './admission.js';
import { compressFrames, uwsCompression } from './compression.js';
import type { GatewayConfig } from './config.js';
import { ConnectionLifecycle, rejectSession } from './connection-lifecycle.js';
import { registerConsoleRoutes } from './console-routes.js';
import { describeError } from './describe-error.js';
import {
  createApp,
  createKeyCache,
  createLimiter,
  createLiveEvents,
  createRetentionWatch,
  createScopeStreams,
  type LiveEvent,
} from './gateway-wiring.js';
import { Heartbeat } from './heartbeat.js';
import { HeartbeatTopic } from './heartbeat-topic.js';
import type { KeyCache } from './key-cache.js';
import { KeyRevocation } from './key-revocation.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { type NativePingPlan, nativePingPlan } from './native-pings.js';
import { PacedSender, pacedBudget } from './paced-sender.js';
import { retryUntilDone } from './retry.js';
import type { ScopeStream } from './scope-stream.js';
import type { Session, SocketData } from './session.js';
import { SessionRegistry } from './session-registry.js';
import { SlowConsumerPolicy } from './slow-consumer-policy.js';
import { startAttach } from './start-attach.js';
import { UpgradeHandler } from './upgrade-handler.js';
import type { TemplatedApp, UwsModule, us_listen_socket, WebSocket } from './uws.js';
import type { WriteCoalescer } from './write-coalescer.js';

export { CLIENT_MESSAGE_BUDGET } from './connection-lifecycle.js';

export const STREAM_PATH = '/v1/stream';
/** Largest client frame accepted; larger ones close the connection (uWS `maxPayloadLength`). */
export const MAX_CLIENT_FRAME_BYTES = 4096;
const STALE_WAITER_MS = 3000;

export interface GatewayDeps {
  config: GatewayConfig;
  backplane: Backplane;
  logger: Logger;
  metrics?: GatewayMetrics;
  uws?: UwsModule;
}

/**
 * One gateway replica: `/v1/stream` over uWebSockets.js, plus the admin port.
 *
 * Stateless (guarantee 1): everything a client needs comes from the
 * backplane; killing this process loses only its sockets, and its limiter
 * slots free themselves within the lease bound.
 */
export class Gateway {
  readonly metrics: GatewayMetrics;
  private readonly log: Logger;
  private readonly app: TemplatedApp;
  private readonly uws: UwsModule;
  private readonly keys: KeyCache;
  private readonly limiter: ConnectionLimiter;
  /** Revocation notices, rechecks after a resubscribe, and at open (key-revocation.ts). */
  private readonly revocation: KeyRevocation;
  /** Decides each upgrade: cheap refusals, key, per-IP limit (admission.ts). */
  private readonly admission: AdmissionControl;
  /** The HTTP side of the stream path: handshake checks, then admission's answer (upgrade-handler.ts). */
  private readonly upgrades: UpgradeHandler;
  /** A socket from open to close (connection-lifecycle.ts). */
  private readonly connections: ConnectionLifecycle;
  private readonly registry: SessionRegistry;
  private readonly streams: Record<Scope, ScopeStream>;
  private readonly heartbeat: Heartbeat;
  /** uWS's idle pings for this ping interval, or null when our own timer pings (under 8 s). */
  private readonly pingPlan: NativePingPlan | null;
  /** The opt-in `heartbeat` messages (`heartbeat=true`), one uWS publish per interval. */
  private readonly heartbeatTopic: HeartbeatTopic;
  private readonly slowConsumers: SlowConsumerPolicy;
  /** Snapshots and replays go out at each client's pace, half the hard per-client limit at most in flight. */
  private readonly pacer: PacedSender;
  private readonly admin: AdminServer;
  /**
   * Entity expiry is announced exactly once whatever the number of sweepers; each replica runs one unless
   * HYDRA_EXPIRY_SWEEP=false (a deliberate exception to "gateways do not write": docs/operations.md).
   */
  private readonly expirySweeper: ExpirySweeper;
  private readonly retentionWatch: RetentionWatch;
  /** Live events from the bus, handed to their scope streams in batches (HYDRA_WRITE_COALESCE_MS). */
  private readonly liveEvents: WriteCoalescer<LiveEvent>;
  /** The web console's files (HYDRA_CONSOLE=true), read once at start; null: no console routes. */
  private readonly consoleAssets: ConsoleAssets | null;
  private subscription: BusSubscription | null = null;
  private listenSocket: us_listen_socket | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  /** Subscribed and primed: serving clients (until then upgrades get 503). */
  private started = false;
  /** Bumped by every reprime: an older prime retry loop stops. */
  private primeGeneration = 0;
  private draining = false;
  private shutdownPromise: Promise<void> | null = null;
  private boundPort = 0;
  private boundAdminPort = 0;

  private constructor(private readonly deps: GatewayDeps) {
    const { config, backplane, logger } = deps;
    const log = logger.child({ component: 'gateway', nodeId: config.nodeId });
    const metrics = deps.metrics ?? new GatewayMetrics();
    const isDraining = () => this.draining;
    this.log = log;
    // First: a console asked for but not built stops the start before anything listens or connects.
    this.consoleAssets = config.console ? loadConsoleAssets() : null;
    this.metrics = metrics;
    metrics.followSilentResubscribes(() => backplane.bus.stats.silentResubscribes);
    ({ uws: this.uws, app: this.app } = createApp(deps.uws, config, log));

    // Who may connect.
    this.keys = createKeyCache(backplane, config, metrics);
    this.limiter = createLimiter(backplane, config, metrics);
    this.registry = new SessionRegistry((keyId, sessions) =>
      this.revocation.closeForKey(keyId, sessions, 'API key expired'),
    );
    const { keys, registry } = this;
    this.revocation = new KeyRevocation({
      store: backplane.keys,
      keys,
      registry,
      reject: rejectSession,
      isDraining,
      metrics,
      log,
    });
    const isRevoked = (keyId: string) => this.revocation.isRevoked(keyId);
    this.admission = new AdmissionControl({ config, keys, limiter: this.limiter, metrics, log, isRevoked, isDraining });
    this.upgrades = new UpgradeHandler({
      admission: this.admission,
      metrics,
      log,
      behindProxy: config.trustedProxies.length > 0,
      isDraining,
      isStarted: () => this.started,
    });

    // What they get.
    this.pacer = new PacedSender(
      pacedBudget(config.maxBufferedBytes),
      () => metrics.pacedSends.inc(),
      (client) => this.slowConsumers.watch(client as Session), // the gateway paces only Sessions
      compressFrames(config.compression),
    );
    this.streams = createScopeStreams({
      app: this.app,
      backplane,
      config,
      metrics,
      log,
      pacer: this.pacer,
      registry,
      afterFanOut: (frameBytes) => {
        this.slowConsumers.published(frameBytes);
        this.slowConsumers.checkIfDue();
      },
      flushLiveEvents: () => this.liveEvents.flush(),
      isDraining,
    });
    this.liveEvents = createLiveEvents(config, this.streams, metrics, log);
    // Keeping it healthy: each costs what is due, not what is connected (sessions join them at open).
    this.slowConsumers = new SlowConsumerPolicy(config.maxBufferedBytes, metrics);
    const slowConsumers = this.slowConsumers;
    this.pingPlan = nativePingPlan(config.pingIntervalMs);
    this.heartbeat = new Heartbeat(config.pingIntervalMs, metrics, {
      mode: this.pingPlan ? 'native' : 'timer',
      onBacklog: (session) => slowConsumers.watch(session),
    });
    this.connections = new ConnectionLifecycle({
      registry,
      streams: this.streams,
      pacer: this.pacer,
      admission: this.admission,
      revocation: this.revocation,
      keys,
      heartbeat: this.heartbeat,
      slowConsumers,
      metrics,
      log,
      isDraining,
    });
    this.heartbeatTopic = new HeartbeatTopic(this.app, config.pingIntervalMs, (bytes) =>
      slowConsumers.published(bytes),
    );
    this.admin = new AdminServer(metrics.registry, () => this.readiness());
    this.expirySweeper = new ExpirySweeper({ backplane, onError: () => metrics.errors.inc({ kind: 'expiry_sweep' }) });
    this.retentionWatch = createRetentionWatch(backplane, metrics, log);
  }

  /**
   * Subscribes to the backplane, learns each scope's seq, then listens (guarantee 8). If
   * the backplane is unreachable, or has not answered within ATTACH_WAIT_MS (start-attach.ts),
   * it listens anyway (readiness fails, upgrades get 503) and keeps trying
   * with capped backoff (the unanswered attempt is awaited first, never run
   * twice at once); it becomes ready by itself.
   */
  static async start(deps: GatewayDeps): Promise<Gateway> {
    const gateway = new Gateway(deps);
    try {
      await gateway.run();
    } catch (err) {
      await gateway.shutdown();
      throw err;
    }
    return gateway;
  }

  get port(): number {
    return this.boundPort;
  }

  get adminPort(): number {
    return this.boundAdminPort;
  }

  get connectionCount(): number {
    return this.registry.size;
  }

  readiness(): { ready: boolean; reason: string } {
    if (!this.started) {
      return { ready: false, reason: this.deps.backplane.isHealthy() ? 'starting' : 'backplane unavailable' };
    }
    if (this.draining) return { ready: false, reason: 'draining' };
    if (!this.deps.backplane.isHealthy()) return { ready: false, reason: 'backplane unavailable' };
    return { ready: true, reason: 'ready' };
  }

  /**
   * Graceful drain (guarantee 7), idempotent: readiness fails and new upgrades
   * are refused at once; open clients are closed with 1001 spread evenly over
   * the drain window; limiter slots are released; listeners close.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.runShutdown();
    return this.shutdownPromise;
  }

  private async run(): Promise<void> {
    const { config, backplane } = this.deps;
    // Routes first: uWS creates its topic tree with the first WebSocket route, and
    // live events may arrive (app.publish) as soon as the subscription is active.
    this.registerRoutes();
    const attaching = startAttach(
      () => this.attachBackplane(),
      () => this.draining,
      this.log,
    );
    const attached = await attaching.firstAnswer;
    this.boundPort = await this.listen(config.host, config.port);
    this.boundAdminPort = await this.admin.listen(config.host, config.adminPort);
    this.heartbeat.start();
    this.heartbeatTopic.start();
    this.retentionWatch.start();
    this.slowConsumers.start();
    this.housekeeping = setInterval(() => this.tidy(), 1000);
    this.housekeeping.unref();
    this.metrics.redisUp.set(backplane.isHealthy() ? 1 : 0);
    this.log.info(
      { port: this.boundPort, adminPort: this.boundAdminPort, tls: config.tls !== undefined, ready: attached === true },
      'listening',
    );
    if (attached === true) this.becomeReady();
    else
      void attaching.attached.then((done) => {
        if (done && !this.draining) this.becomeReady();
      });
  }

  /** Subscribes (once) and learns every scope's seq; rejects while the backplane is unreachable. */
  private async attachBackplane(): Promise<void> {
    this.subscription ??= await this.deps.backplane.bus.subscribe({
      onEvent: (scope, seq, frame) => this.liveEvents.push({ scope, seq, frame }),
      onKeyRevoked: (keyId) => this.revocation.onKeyRevoked(keyId),
      onSubscribed: () => {
        this.liveEvents.flush();
        if (!this.started) return;
        this.reprime('resubscribed');
        this.revocation.recheckKeys();
      },
      onInterrupted: () => {
        // The held events came over the old subscription: handed over first, then the next ones must prove themselves.
        this.liveEvents.flush();
        for (const scope of SCOPES) this.streams[scope].follower.subscriptionInterrupted();
      },
    });
    await Promise.all(SCOPES.map((scope) => this.streams[scope].prime()));
  }

  private becomeReady(): void {
    if (this.deps.config.expirySweep) this.expirySweeper.start();
    this.started = true;
    this.metrics.redisUp.set(this.deps.backplane.isHealthy() ? 1 : 0);
    this.log.info('ready');
  }

  private listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host}:${port}`));
          return;
        }
        this.listenSocket = socket;
        resolve(this.uws.us_socket_local_port(socket as never));
      });
    });
  }

  private registerRoutes(): void {
    const plan = this.pingPlan;
    // Liveness (heartbeat.ts): uWS's idle pings in C++ when the interval allows (no JavaScript per pong,
    // so no `pong` handler), else our own timer's pings and pongs.
    const liveness = plan
      ? {
          idleTimeout: plan.idleTimeoutSeconds,
          sendPingsAutomatically: true,
          ping: (ws: WebSocket<SocketData>) => this.connections.ping(ws),
        }
      : {
          idleTimeout: 0,
          sendPingsAutomatically: false,
          pong: (ws: WebSocket<SocketData>) => this.connections.pong(ws),
        };
    this.app.ws<SocketData>(STREAM_PATH, {
      compression: uwsCompression(this.uws, this.deps.config.compression),
      maxPayloadLength: MAX_CLIENT_FRAME_BYTES,
      ...liveness,
      // The hard per-client limit (guarantee 6): a client past it is dropped by uWS at once (1006). The
      // slow-consumer check usually closes a stalled client with 4000 long before (slow-consumer-policy.ts).
      maxBackpressure: this.deps.config.maxBufferedBytes,
      closeOnBackpressureLimit: 1 as unknown as number,
      upgrade: (res, req, context) => this.upgrades.upgrade(res, req, context),
      open: (ws) => this.connections.open(ws),
      message: (ws) => this.connections.message(ws),
      drain: (ws) => this.connections.drain(ws),
      close: (ws, code, message) => this.connections.close(ws, code, message),
    });
    if (this.consoleAssets) registerConsoleRoutes(this.app, this.consoleAssets);
    this.app.any('/*', (res, req) => this.upgrades.otherRequest(res, req, STREAM_PATH));
  }

  /**
   * After a re-subscription, learn each scope's seq again; gaps resynchronise
   * clients. A failed read is retried with capped backoff (the command
   * connection may come back after the subscriber), until a newer reprime
   * takes over: a scope is never left un-primed after a Redis blip.
   */
  private reprime(why: string): void {
    this.log.info({ why }, 're-priming scopes');
    const generation = ++this.primeGeneration;
    for (const scope of SCOPES) {
      void retryUntilDone(() => this.streams[scope].prime(), {
        cancelled: () => this.draining || generation !== this.primeGeneration,
        onFailure: (err) => {
          this.metrics.errors.inc({ kind: 'prime' });
          this.log.warn({ err: describeError(err), scope }, 'prime failed; retrying');
        },
      });
    }
  }

  /**
   * Once a second: backplane health gauge, throttle caches, and clients
   * waiting on an event that may be lost. (Slow consumers have their own,
   * faster check: slow-consumer-policy.ts.)
   */
  private tidy(): void {
    this.metrics.redisUp.set(this.deps.backplane.isHealthy() ? 1 : 0);
    this.admission.sweep(Date.now());
    for (const scope of SCOPES) {
      const stream = this.streams[scope];
      if (stream.hasStaleWaiters(STALE_WAITER_MS)) {
        stream.prime().catch((err: unknown) => {
          this.metrics.errors.inc({ kind: 'prime' });
          this.log.warn({ err: describeError(err), scope }, 'stale-waiter prime failed; the next check retries');
        });
      }
    }
  }

  private async runShutdown(): Promise<void> {
    this.draining = true;
    this.liveEvents.flush();
    this.heartbeat.stop();
    this.heartbeatTopic.stop();
    // Withdraws this replica's policy while the drain runs; awaited below, before the backplane may close.
    const retentionWithdrawn = this.retentionWatch.stop();
    this.slowConsumers.stop();
    await this.expirySweeper.stop();
    if (this.housekeeping) clearInterval(this.housekeeping);
    const sessions = this.registry.snapshot();
    this.log.info({ connections: sessions.length, drainMs: this.deps.config.drainMs }, 'draining');
    await closeSpread(sessions, this.deps.config.drainMs, (session) => {
      const ws = session.ws;
      if (!session.closed && ws) ws.end(CloseCode.GoingAway, CloseReason[CloseCode.GoingAway]);
    });
    await this.limiter
      .releaseAll()
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'releaseAll failed'));
    await this.limiter.close().catch(() => undefined);
    await this.subscription?.close().catch(() => undefined);
    this.registry.close();
    if (this.listenSocket) this.uws.us_listen_socket_close(this.listenSocket as never);
    this.listenSocket = null;
    await this.admin.close();
    await retentionWithdrawn;
    this.log.info('drained');
  }
}

/** Closes sessions in even batches across `windowMs` so reconnects do not stampede other replicas. */
async function closeSpread(sessions: Session[], windowMs: number, close: (s: Session) => void): Promise<void> {
  const tickMs = 50;
  const ticks = Math.max(1, Math.floor(windowMs / tickMs));
  const perTick = Math.max(1, Math.ceil(sessions.length / ticks));
  for (let i = 0; i < sessions.length; i += perTick) {
    for (const s of sessions.slice(i, i + perTick)) close(s);
    if (i + perTick < sessions.length) await new Promise((r) => setTimeout(r, tickMs));
  }
}
