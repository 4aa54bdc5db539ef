import type { Backplane, BusSubscription, ConnectionLimiter } from '@hydra/backplane';
import { ExpirySweeper, keyStatus, RetentionWatch } from '@hydra/backplane';
import {
  CloseCode,
  CloseReason,
  encodeConnectedFrame,
  encodeErrorFrame,
  frameTs,
  SCOPES,
  type Scope,
} from '@hydra/protocol';
import { AdminServer } from './admin-server.js';
import { AdmissionControl, badRequest, UNAUTHORIZED_MESSAGE, type UpgradeRequest, unauthorized } from './admission.js';
import type { GatewayConfig } from './config.js';
import { describeError } from './describe-error.js';
import { FallbackConnectionLimiter } from './fallback-connection-limiter.js';
import { Heartbeat } from './heartbeat.js';
import { KeyCache } from './key-cache.js';
import type { Logger } from './logger.js';
import { GatewayMetrics, type RejectReason } from './metrics.js';
import { PacedSender, pacedBudget } from './paced-sender.js';
import { retryUntilDone } from './retry.js';
import { ScopeStream } from './scope-stream.js';
import type { Rejection, Session, SocketData } from './session.js';
import { SessionRegistry } from './session-registry.js';
import { SlowConsumerPolicy } from './slow-consumer-policy.js';
import { SnapshotCache } from './snapshot-cache.js';
import {
  type HttpResponse,
  loadUws,
  type TemplatedApp,
  type UwsModule,
  type us_listen_socket,
  type WebSocket,
} from './uws.js';
import { WriteCoalescer } from './write-coalescer.js';

export const STREAM_PATH = '/v1/stream';
/** Data messages a client may send on this one-way stream before it is closed with 4001. */
export const CLIENT_MESSAGE_BUDGET = 16;
/** Largest client frame accepted; larger ones close the connection (uWS `maxPayloadLength`). */
export const MAX_CLIENT_FRAME_BYTES = 4096;
/** How long a new snapshot read is reused for later connects (bounds expiry staleness only). */
const SNAPSHOT_REUSE_MS = 1000;
const STALE_WAITER_MS = 3000;
/** How often this replica compares its HYDRA_RETENTION with the backplane's (RetentionWatch). */
const RETENTION_CHECK_MS = 30_000;

export interface GatewayDeps {
  config: GatewayConfig;
  backplane: Backplane;
  logger: Logger;
  metrics?: GatewayMetrics;
  uws?: UwsModule;
}

/** One live event as the bus delivered it. */
interface LiveEvent {
  scope: Scope;
  seq: number;
  frame: Buffer;
}

interface PendingUpgrade {
  aborted: boolean;
}

/** The rejection of a client whose state cannot be read now (Redis away): 1013, reconnect later. */
const UNAVAILABLE: Rejection = {
  code: 'unavailable',
  message: 'state unavailable, reconnect later',
  closeCode: CloseCode.TryAgainLater,
};

/** A Connection header value holding the "Upgrade" token (a comma-separated list, any case). */
const CONNECTION_UPGRADE = /(?:^|,)\s*upgrade\s*(?:,|$)/i;
/** A Connection header value holding the "close" token. */
const CONNECTION_CLOSE = /(?:^|,)\s*close\s*(?:,|$)/i;

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
  /** Decides each upgrade: cheap refusals, key, per-IP limit (admission.ts). */
  private readonly admission: AdmissionControl;
  private readonly registry: SessionRegistry;
  private readonly streams: Record<Scope, ScopeStream>;
  private readonly heartbeat: Heartbeat;
  private readonly slowConsumers: SlowConsumerPolicy;
  /** Snapshots and replays go out at each client's pace, half the hard per-client limit at most in flight. */
  private readonly pacer: PacedSender;
  private readonly admin: AdminServer;
  private readonly revokedKeyIds = new Set<string>();
  /**
   * Entity expiry is announced exactly once whatever the number of sweepers; each replica runs one unless
   * HYDRA_EXPIRY_SWEEP=false (a deliberate exception to "gateways do not write": docs/operations.md).
   */
  private readonly expirySweeper: ExpirySweeper;
  private readonly retentionWatch: RetentionWatch;
  /** Live events from the bus, handed to their scope streams in batches (HYDRA_WRITE_COALESCE_MS). */
  private readonly liveEvents: WriteCoalescer<LiveEvent>;
  private subscription: BusSubscription | null = null;
  private listenSocket: us_listen_socket | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  /** Subscribed and primed: serving clients (until then upgrades get 503). */
  private started = false;
  /** Bumped by every reprime: an older prime retry loop stops. */
  private primeGeneration = 0;
  /** Bumped by every key recheck: an older recheck retry loop stops. */
  private recheckGeneration = 0;
  private draining = false;
  private shutdownPromise: Promise<void> | null = null;
  private boundPort = 0;
  private boundAdminPort = 0;

  private constructor(private readonly deps: GatewayDeps) {
    const { config, backplane, logger } = deps;
    this.log = logger.child({ component: 'gateway', nodeId: config.nodeId });
    this.metrics = deps.metrics ?? new GatewayMetrics();
    const loaded = deps.uws ? { uws: deps.uws, native: true } : loadUws({ allowFallback: config.allowUwsFallback });
    this.uws = loaded.uws;
    if (!loaded.native) {
      this.log.warn(
        'running on the pure-JS uWebSockets.js fallback (HYDRA_ALLOW_UWS_FALLBACK=true): far slower than the native build',
      );
    }
    this.app = config.tls
      ? this.uws.SSLApp({ cert_file_name: config.tls.certFile, key_file_name: config.tls.keyFile })
      : this.uws.App();
    this.keys = new KeyCache(backplane.keys, {
      ttlMs: config.keyCacheTtlMs,
      negativeTtlMs: config.keyCacheNegativeTtlMs,
      onLookup: (result) => this.metrics.keyCacheLookups.inc({ result }),
      timeStoreRead: (read) => this.metrics.timeRedis('key_lookup', read),
    });
    // Redis unreachable: per-IP decisions fall back to a per-node cap (policy in fallback-connection-limiter.ts).
    this.limiter = new FallbackConnectionLimiter(
      backplane.createLimiter({
        nodeId: config.nodeId,
        maxPerIp: config.maxConnectionsPerIp,
        leaseMs: config.limiterLeaseMs,
      }),
      {
        maxPerIp: config.maxConnectionsPerIp,
        isHealthy: () => backplane.isHealthy(),
        onLocalDecision: (granted) =>
          this.metrics.limiterLocalDecisions.inc({ decision: granted ? 'granted' : 'refused' }),
      },
    );
    this.admission = new AdmissionControl({
      config,
      keys: this.keys,
      limiter: this.limiter,
      metrics: this.metrics,
      log: this.log,
      isRevoked: (keyId) => this.revokedKeyIds.has(keyId),
      isDraining: () => this.draining,
    });
    this.registry = new SessionRegistry((keyId, sessions) => this.closeForKey(keyId, sessions, 'API key expired'));
    const streams = {} as Record<Scope, ScopeStream>;
    const pacer = new PacedSender(pacedBudget(config.maxBufferedBytes), () => this.metrics.pacedSends.inc());
    this.pacer = pacer;
    for (const scope of SCOPES) {
      streams[scope] = new ScopeStream(scope, {
        app: this.app,
        snapshots: new SnapshotCache(
          scope,
          backplane.snapshots,
          this.metrics,
          SNAPSHOT_REUSE_MS,
          config.snapshotChunkBytes,
        ),
        history: backplane.history,
        sessionsOf: (s) => this.registry.sessionsOfScope(s),
        metrics: this.metrics,
        log: this.log,
        pacer,
        afterFanOut: () => this.slowConsumers.checkIfDue(),
        // Not while draining: the backplane is then closing, not coming back.
        flushLiveEvents: () => this.liveEvents.flush(),
        backplaneReconnecting: () => !this.draining && !backplane.isHealthy(),
      });
    }
    this.streams = streams;
    this.heartbeat = new Heartbeat(config.pingIntervalMs, (visit) => this.registry.forEach(visit), this.metrics);
    this.slowConsumers = new SlowConsumerPolicy(
      config.maxBufferedBytes,
      (visit) => this.registry.forEach(visit),
      this.metrics,
    );
    this.admin = new AdminServer(this.metrics.registry, () => this.readiness());
    this.expirySweeper = new ExpirySweeper({
      backplane,
      onError: () => this.metrics.errors.inc({ kind: 'expiry_sweep' }),
    });
    // Each event on its own: one that throws is counted and logged, and the rest of the batch still goes
    // out (a scope whose event failed recovers from history at its next event: a seq gap).
    this.liveEvents = new WriteCoalescer<LiveEvent>(config.writeCoalesceMs, (events) => {
      for (const { scope, seq, frame } of events) {
        try {
          this.streams[scope]?.onEvent(seq, frame, frameTs(frame));
        } catch (err) {
          this.metrics.errors.inc({ kind: 'live_event' });
          this.log.error({ err: describeError(err), scope, seq }, 'live event failed');
        }
      }
    });
    this.retentionWatch = new RetentionWatch({
      agreement: backplane.retentionAgreement,
      intervalMs: RETENTION_CHECK_MS,
      onCheck: (check) => this.metrics.retentionMismatch.set(check.agrees ? 0 : 1),
      onMismatch: (check) =>
        this.log.error(
          { ours: check.ours, theirs: check.theirs },
          'HYDRA_RETENTION differs from another process on this backplane: every gateway and publisher must use the same value',
        ),
      onError: () => this.metrics.errors.inc({ kind: 'retention_check' }),
    });
  }

  /**
   * Subscribes to the backplane, learns each scope's seq, then listens. If
   * the backplane is unreachable it listens anyway (readiness fails, upgrades
   * get 503) and keeps trying with capped backoff; it becomes ready by itself.
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
    const attached = await this.attachBackplane().then(
      () => true,
      (err: unknown) => {
        this.log.warn({ err: describeError(err) }, 'backplane unavailable at start; listening, not ready, retrying');
        return false;
      },
    );
    this.boundPort = await this.listen(config.host, config.port);
    this.boundAdminPort = await this.admin.listen(config.host, config.adminPort);
    this.heartbeat.start();
    this.retentionWatch.start();
    this.slowConsumers.start();
    this.housekeeping = setInterval(() => this.tidy(), 1000);
    this.housekeeping.unref();
    this.metrics.redisUp.set(backplane.isHealthy() ? 1 : 0);
    this.log.info(
      { port: this.boundPort, adminPort: this.boundAdminPort, tls: config.tls !== undefined, ready: attached },
      'listening',
    );
    if (attached) this.becomeReady();
    else {
      void retryUntilDone(() => this.attachBackplane(), {
        cancelled: () => this.draining,
        onFailure: (err, attempt) => {
          if (attempt % 10 === 1) this.log.warn({ err: describeError(err), attempt }, 'backplane still unavailable');
        },
      }).then((done) => {
        if (done && !this.draining) this.becomeReady();
      });
    }
  }

  /** Subscribes (once) and learns every scope's seq; rejects while the backplane is unreachable. */
  private async attachBackplane(): Promise<void> {
    this.subscription ??= await this.deps.backplane.bus.subscribe({
      onEvent: (scope, seq, frame) => this.liveEvents.push({ scope, seq, frame }),
      onKeyRevoked: (keyId) => this.onKeyRevoked(keyId),
      onSubscribed: () => {
        this.liveEvents.flush();
        if (!this.started) return;
        this.reprime('resubscribed');
        this.recheckKeys();
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
    this.app.ws<SocketData>(STREAM_PATH, {
      compression: 0,
      maxPayloadLength: MAX_CLIENT_FRAME_BYTES,
      idleTimeout: 0, // liveness is our own ping/pong (Heartbeat), not uWS's idle timer
      sendPingsAutomatically: false,
      // The hard per-client limit (guarantee 6): a client past it is dropped by uWS at once (1006). The
      // slow-consumer check usually closes a stalled client with 4000 long before (slow-consumer-policy.ts).
      maxBackpressure: this.deps.config.maxBufferedBytes,
      closeOnBackpressureLimit: 1 as unknown as number,
      upgrade: (res, req, context) => {
        // uWS answers an upgrade whose (first) Connection header says `close` with 101 and closes the socket at
        // once: the client would see a bare 1006. Such a handshake (RFC 6455 §4.1 wants the Upgrade token
        // there) gets a 400 that says why instead.
        const connection = req.getHeader('connection');
        if (CONNECTION_CLOSE.test(connection) && !CONNECTION_UPGRADE.test(connection)) {
          this.refuse(
            res,
            '400 Bad Request',
            'Connection: close cannot be upgraded; send Connection: Upgrade',
            'bad_request',
          );
          return;
        }
        const secKey = req.getHeader('sec-websocket-key');
        const secProtocol = req.getHeader('sec-websocket-protocol');
        const secExtensions = req.getHeader('sec-websocket-extensions');
        const headerKey = req.getHeader('x-api-key');
        const behindProxy = this.deps.config.trustedProxies.length > 0;
        const forwardedFor = behindProxy ? req.getHeader('x-forwarded-for') : '';
        // uWS parses a PROXY protocol v2 header (plain listener only: it would precede the TLS handshake) from
        // any peer; resolveClientIp believes its source address only when the socket peer is a trusted proxy.
        const proxiedIp = behindProxy ? Buffer.from(res.getProxiedRemoteAddressAsText()).toString() : '';
        const query = req.getQuery() ?? '';
        const socketIp = Buffer.from(res.getRemoteAddressAsText()).toString();
        if (this.draining) {
          this.refuse(res, '503 Service Unavailable', 'Server going away', 'draining');
          return;
        }
        if (!this.started) {
          this.refuse(res, '503 Service Unavailable', 'Service Unavailable', 'unavailable');
          return;
        }
        const pending: PendingUpgrade = { aborted: false };
        res.onAborted(() => {
          pending.aborted = true;
        });
        const request: UpgradeRequest = { headerKey, forwardedFor, proxiedIp, query, socketIp };
        let admitted: Session | null = null;
        this.admission
          .admit(request, () => pending.aborted)
          .then((admission) => {
            if (admission.kind === 'upgrade') {
              admitted = admission.session;
              this.upgrade(res, context, secKey, secProtocol, secExtensions, admission);
            } else if (admission.kind === 'refuse') {
              this.refuse(res, admission.status, admission.body, admission.reason, admission.retryAfter);
            }
          })
          .catch((err: unknown) => {
            this.log.error({ err: describeError(err) }, 'upgrade failed');
            this.metrics.errors.inc({ kind: 'upgrade' });
            // No socket, so no close event: the slot admission handed over is given back here.
            const session = admitted as Session | null;
            if (session?.slotHeld) {
              session.slotHeld = false;
              this.admission.release(session.ip);
            }
            try {
              if (!pending.aborted)
                this.refuse(res, '500 Internal Server Error', 'Internal Server Error', 'unavailable');
            } catch {
              // the response is gone (aborted or already upgraded): nothing more to answer
            }
          });
      },
      // uWS bug (uNetworking/uWebSockets#1928, uWebSockets.js#1108): sending from `open` right after an
      // upgrade made in res.cork() after an await can dirty-close that socket or a neighbour (1006). Let the
      // upgrade finish first; a socket that closes or a drain that starts in between is handled here.
      open: (ws) => {
        const { session } = ws.getUserData();
        setImmediate(() => {
          if (session.closed) return;
          if (this.draining) ws.end(CloseCode.GoingAway, CloseReason[CloseCode.GoingAway]);
          else this.onOpen(ws);
        });
      },
      message: (ws) => this.onClientMessage(ws),
      drain: (ws) => {
        const { session } = ws.getUserData();
        session.markDrained();
        this.pacer.onDrain(session);
      },
      pong: (ws) => Heartbeat.onPong(ws.getUserData().session),
      close: (ws, code) => this.onClose(ws, code),
    });
    this.app.any('/*', (res) => {
      res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end('Not Found');
    });
  }

  private upgrade(
    res: HttpResponse,
    context: unknown,
    secKey: string,
    secProtocol: string,
    secExtensions: string,
    { session }: { session: Session },
  ): void {
    const data: SocketData = { session };
    res.cork(() => res.upgrade(data, secKey, secProtocol, secExtensions, context as never));
  }

  private refuse(res: HttpResponse, status: string, body: string, reason: RejectReason, retryAfter?: string): void {
    this.metrics.connectionsRejected.inc({ reason });
    res.cork(() => {
      res.writeStatus(status).writeHeader('content-type', 'text/plain');
      if (retryAfter !== undefined) res.writeHeader('retry-after', retryAfter);
      res.end(body);
    });
  }

  private onOpen(ws: WebSocket<SocketData>): void {
    const { session } = ws.getUserData();
    session.ws = ws;
    if (session.rejection !== null || session.keyId === null) {
      this.reject(session, session.rejection ?? unauthorized(UNAUTHORIZED_MESSAGE));
      return;
    }
    if (this.revokedKeyIds.has(session.keyId) || (session.expiresAt !== null && session.expiresAt <= Date.now())) {
      this.reject(session, unauthorized(UNAUTHORIZED_MESSAGE));
      return;
    }
    if (session.keyGeneration !== this.keys.generation) {
      // Admitted on a key answer from before a resubscribe's recheck, which did not see this session yet.
      void this.recheckThenStart(ws, session, session.keyId);
      return;
    }
    this.startSession(ws, session);
  }

  /**
   * Reads `keyId` from the key store again before serving a session admitted
   * on an answer the key cache had before its last clear (a revocation
   * notice may have been lost meanwhile): revoked or expired → `error` +
   * 1008; unreadable → 1013, and the client reconnects.
   */
  private async recheckThenStart(ws: WebSocket<SocketData>, session: Session, keyId: string): Promise<void> {
    let status: ReturnType<typeof keyStatus>;
    try {
      const records = await this.deps.backplane.keys.lookupByIds([keyId]);
      status = keyStatus(records.get(keyId) ?? null, Date.now());
    } catch (err) {
      this.log.warn({ err: describeError(err), connId: session.connId }, 'key recheck at open failed');
      if (!session.closed) this.reject(session, UNAVAILABLE);
      return;
    }
    if (session.closed) return;
    // A key the store no longer has is served, as recheckHeldKeys does (Redis restarted without its data).
    if (status === 'revoked' || status === 'expired') this.reject(session, unauthorized(UNAUTHORIZED_MESSAGE));
    else this.startSession(ws, session);
  }

  /** Registers an admitted session and starts its stream: `connected`, then each scope's snapshot or replay. */
  private startSession(ws: WebSocket<SocketData>, session: Session): void {
    this.registry.add(session);
    this.metrics.connections.inc();
    this.metrics.connectionsOpened.inc();
    ws.send(encodeConnectedFrame(session.scopes, Date.now()), false, false);
    for (const scope of session.scopes) {
      const stream = this.streams[scope];
      const position = session.resume.get(scope);
      const started =
        position === undefined
          ? stream.join(session, session.wantSnapshot)
          : stream.resume(session, position.seq, position.ts).then((outcome) => {
              this.metrics.resumes.inc({ outcome });
              if (outcome === 'future') {
                this.reject(session, badRequest(`resume: ${scope}:${position.seq} is ahead of the stream`));
              }
            });
      started.catch((err: unknown) => {
        this.metrics.errors.inc({ kind: 'join' });
        this.log.warn({ err: describeError(err), scope, connId: session.connId }, 'snapshot or replay failed');
        this.reject(session, UNAVAILABLE);
      });
    }
  }

  /** Sends `error` with the reason, then closes with the rejection's code. */
  private reject(session: Session, rejection: Rejection): void {
    const ws = session.ws;
    if (session.closed || !ws) return;
    ws.cork(() => {
      ws.send(encodeErrorFrame(rejection.code, rejection.message), false, false);
      ws.end(rejection.closeCode, CloseReason[rejection.closeCode]);
    });
  }

  private onClientMessage(ws: WebSocket<SocketData>): void {
    const { session } = ws.getUserData();
    session.clientMessages++;
    this.metrics.clientMessagesIgnored.inc();
    if (session.clientMessages > CLIENT_MESSAGE_BUDGET && !session.closed) {
      ws.end(CloseCode.ClientProtocolViolation, CloseReason[CloseCode.ClientProtocolViolation]);
    }
  }

  private onClose(ws: WebSocket<SocketData>, code: number): void {
    const { session } = ws.getUserData();
    if (session.closed) return;
    session.closed = true;
    session.ws = null;
    this.pacer.abandon(session);
    this.metrics.connectionsClosed.inc({ code: String(code) });
    // Only sessions onOpen registered were counted (not rejected ones, nor ones closed before onOpen ran).
    if (this.registry.remove(session)) {
      this.metrics.connections.dec();
      for (const scope of session.scopes) this.streams[scope].forget(session);
    }
    if (session.slotHeld) {
      session.slotHeld = false;
      this.admission.release(session.ip);
    }
  }

  private onKeyRevoked(keyId: string): void {
    if (this.revokedKeyIds.size >= 100_000) this.revokedKeyIds.clear();
    this.revokedKeyIds.add(keyId);
    this.keys.evictKeyId(keyId);
    this.closeForKey(keyId, this.registry.sessionsOfKey(keyId), 'API key revoked');
  }

  /** Revocation and expiry: `error` then close 1008, on every connection of the key. */
  private closeForKey(keyId: string, sessions: Session[], why: string): void {
    if (sessions.length > 0) this.log.info({ keyId, connections: sessions.length }, why);
    for (const session of sessions) this.reject(session, unauthorized(UNAUTHORIZED_MESSAGE));
  }

  /**
   * After a re-subscription: revocation notices published while the
   * subscriber was down are lost (pub/sub is at-most-once). So the key cache
   * is emptied (a "valid" entry may be stale) and every key held by a live
   * session is read again from the key store; revoked and expired ones are
   * closed exactly as a notice or the expiry timer would (`error`, 1008).
   * A key the store no longer has (Redis restarted without its data) is left
   * open: the store cannot tell, and production Redis persists its keys.
   * A failed read is retried with capped backoff until a newer recheck takes over.
   */
  private recheckKeys(): void {
    this.keys.clear();
    const generation = ++this.recheckGeneration;
    void retryUntilDone(() => this.recheckHeldKeys(), {
      cancelled: () => this.draining || generation !== this.recheckGeneration,
      onFailure: (err) => {
        this.metrics.errors.inc({ kind: 'key_recheck' });
        this.log.warn({ err: describeError(err) }, 'key recheck failed; retrying');
      },
    });
  }

  private async recheckHeldKeys(): Promise<void> {
    const keyIds = this.registry.keyIds();
    const records = keyIds.length > 0 ? await this.deps.backplane.keys.lookupByIds(keyIds) : new Map();
    const now = Date.now();
    let revoked = 0;
    let expired = 0;
    for (const keyId of keyIds) {
      const status = keyStatus(records.get(keyId) ?? null, now);
      if (status === 'revoked') {
        revoked++;
        this.onKeyRevoked(keyId);
      } else if (status === 'expired') {
        expired++;
        this.closeForKey(keyId, this.registry.sessionsOfKey(keyId), 'API key expired');
      }
    }
    this.log.info({ keys: keyIds.length, revoked, expired }, 'held keys rechecked');
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
