import { CloseCode, CloseReason, encodeConnectedFrame, encodeErrorFrame, type Scope } from '@hydra/protocol';
import { type AdmissionControl, badRequest, UNAUTHORIZED_MESSAGE, unauthorized } from './admission.js';
import { describeError } from './describe-error.js';
import { Heartbeat } from './heartbeat.js';
import { HEARTBEAT_TOPIC } from './heartbeat-topic.js';
import type { KeyCache } from './key-cache.js';
import type { KeyRevocation } from './key-revocation.js';
import type { Logger } from './logger.js';
import type { ConnectionOption, GatewayMetrics } from './metrics.js';
import { closedForSilence } from './native-pings.js';
import type { PacedSender } from './paced-sender.js';
import type { ScopeStream } from './scope-stream.js';
import type { Rejection, Session, SocketData } from './session.js';
import type { SessionRegistry } from './session-registry.js';
import type { SlowConsumerPolicy } from './slow-consumer-policy.js';
import type { WebSocket } from './uws.js';

/** Data messages a client may send on this one-way stream before it is closed with 4001. */
export const CLIENT_MESSAGE_BUDGET = 16;

/** The rejection of a client whose state cannot be read now (Redis away): 1013, reconnect later. */
const UNAVAILABLE: Rejection = {
  code: 'unavailable',
  message: 'state unavailable, reconnect later',
  closeCode: CloseCode.TryAgainLater,
};

/** Sends `error` with the reason, then closes with the rejection's code. */
export function rejectSession(session: Session, rejection: Rejection): void {
  const ws = session.ws;
  if (session.closed || !ws) return;
  ws.cork(() => {
    ws.send(encodeErrorFrame(rejection.code, rejection.message), false, false);
    ws.end(rejection.closeCode, CloseReason[rejection.closeCode]);
  });
}

/** Adds `delta` to hydra_connections_by_option for each opt-in option the session is served with. */
function countOptions(metrics: GatewayMetrics, session: Session, delta: 1 | -1): void {
  const add = (option: ConnectionOption) => metrics.connectionsByOption.inc({ option }, delta);
  // Without `scopes=` (or naming every granted scope) the session holds the grant's own array.
  if (session.grant !== null && session.scopes !== session.grant.scopes) add('scopes');
  if (session.conflateMs !== 0) add('conflate');
  if (session.region !== null) add('bbox');
}

export interface ConnectionLifecycleDeps {
  registry: SessionRegistry;
  streams: Record<Scope, ScopeStream>;
  pacer: PacedSender;
  admission: AdmissionControl;
  revocation: KeyRevocation;
  keys: KeyCache;
  /** Pings the registered sessions (joined and left here, with the registry). */
  heartbeat: Heartbeat;
  /** Watches the registered sessions that may have a backlog (told here of opens, drains and closes). */
  slowConsumers: SlowConsumerPolicy;
  metrics: GatewayMetrics;
  log: Logger;
  isDraining: () => boolean;
}

/**
 * A `/v1/stream` socket from open to close (the uWS WebSocket behaviour
 * after the upgrade): a refused session is told why and closed; an admitted
 * one is registered and started (`connected`, then each scope's snapshot or
 * replay); its close gives back everything it held.
 */
export class ConnectionLifecycle {
  constructor(private readonly deps: ConnectionLifecycleDeps) {}

  // uWS bug (uNetworking/uWebSockets#1928, uWebSockets.js#1108): sending from `open` right after an
  // upgrade made in res.cork() after an await can dirty-close that socket or a neighbour (1006). Let the
  // upgrade finish first; a socket that closes or a drain that starts in between is handled here.
  open(ws: WebSocket<SocketData>): void {
    const { session } = ws.getUserData();
    setImmediate(() => {
      if (session.closed) return;
      if (this.deps.isDraining()) ws.end(CloseCode.GoingAway, CloseReason[CloseCode.GoingAway]);
      else this.onOpen(ws);
    });
  }

  message(ws: WebSocket<SocketData>): void {
    const { session } = ws.getUserData();
    this.deps.heartbeat.stir(session); // a frame from the client holds uWS's idle ping back
    session.clientMessages++;
    this.deps.metrics.clientMessagesIgnored.inc();
    if (session.clientMessages > CLIENT_MESSAGE_BUDGET && !session.closed) {
      ws.end(CloseCode.ClientProtocolViolation, CloseReason[CloseCode.ClientProtocolViolation]);
    }
  }

  drain(ws: WebSocket<SocketData>): void {
    const { session } = ws.getUserData();
    session.markDrained();
    this.deps.heartbeat.stir(session); // a drain holds uWS's idle ping back
    this.deps.slowConsumers.watch(session); // uWS drains only a socket that had a backlog
    this.deps.pacer.onDrain(session);
  }

  /** Our own timer's pings only: with uWS's idle pings its pongs stay in C++. */
  pong(ws: WebSocket<SocketData>): void {
    Heartbeat.onPong(ws.getUserData().session);
  }

  /** The client pinged us (uWS answered): that holds uWS's idle ping back. */
  ping(ws: WebSocket<SocketData>): void {
    this.deps.heartbeat.stir(ws.getUserData().session);
  }

  close(ws: WebSocket<SocketData>, code: number, message?: ArrayBuffer): void {
    const { session } = ws.getUserData();
    if (session.closed) return;
    if (closedForSilence(code, message)) this.deps.metrics.deadPeers.inc(); // uWS's idle pings found a dead peer
    session.closed = true;
    session.ws = null;
    this.deps.pacer.abandon(session);
    this.deps.heartbeat.remove(session); // a refused session may have been stirred (a drain, a message) too
    this.deps.metrics.connectionsClosed.inc({ code: String(code) });
    // Only sessions onOpen registered were counted (not rejected ones, nor ones closed before onOpen ran).
    if (this.deps.registry.remove(session)) {
      this.deps.slowConsumers.remove(session);
      this.deps.metrics.connections.dec();
      countOptions(this.deps.metrics, session, -1);
      for (const scope of session.scopes) this.deps.streams[scope].forget(session);
    }
    if (session.slotHeld) {
      session.slotHeld = false;
      this.deps.admission.release(session.ip);
    }
  }

  private onOpen(ws: WebSocket<SocketData>): void {
    const { session } = ws.getUserData();
    session.ws = ws;
    if (session.rejection !== null || session.keyId === null) {
      rejectSession(session, session.rejection ?? unauthorized(UNAUTHORIZED_MESSAGE));
      return;
    }
    if (
      this.deps.revocation.isRevoked(session.keyId) ||
      (session.expiresAt !== null && session.expiresAt <= Date.now())
    ) {
      rejectSession(session, unauthorized(UNAUTHORIZED_MESSAGE));
      return;
    }
    if (session.keyGeneration !== this.deps.keys.generation) {
      // Admitted on a key answer from before a resubscribe's recheck, which did not see this session yet.
      void this.recheckThenStart(ws, session, session.keyId);
      return;
    }
    this.startSession(ws, session);
  }

  /** Serves a session admitted on a stale key answer only once its key was read again (KeyRevocation). */
  private async recheckThenStart(ws: WebSocket<SocketData>, session: Session, keyId: string): Promise<void> {
    const verdict = await this.deps.revocation.recheckAtOpen(session, keyId);
    if (session.closed) return;
    switch (verdict) {
      case 'serve':
        this.startSession(ws, session);
        return;
      case 'unauthorized':
        rejectSession(session, unauthorized(UNAUTHORIZED_MESSAGE));
        return;
      case 'unavailable':
        rejectSession(session, UNAVAILABLE);
        return;
      case 'going_away':
        ws.end(CloseCode.GoingAway, CloseReason[CloseCode.GoingAway]);
        return;
      case 'closed':
        return;
    }
  }

  /** Registers an admitted session and starts its stream: `connected`, then each scope's snapshot or replay. */
  private startSession(ws: WebSocket<SocketData>, session: Session): void {
    const { registry, streams, metrics, log } = this.deps;
    registry.add(session);
    this.deps.heartbeat.add(session);
    metrics.connections.inc();
    metrics.connectionsOpened.inc();
    countOptions(metrics, session, 1);
    ws.send(encodeConnectedFrame(session.scopes, Date.now()), false, false);
    this.deps.slowConsumers.add(session);
    if (session.wantHeartbeat) ws.subscribe(HEARTBEAT_TOPIC);
    for (const scope of session.scopes) {
      const stream = streams[scope];
      const position = session.resume.get(scope);
      const started =
        position === undefined
          ? stream.join(session, session.wantSnapshot)
          : stream.resume(session, position.seq, position.ts).then((outcome) => {
              metrics.resumes.inc({ outcome });
              if (outcome === 'future') {
                rejectSession(session, badRequest(`resume: ${scope}:${position.seq} is ahead of the stream`));
              }
            });
      started.catch((err: unknown) => {
        metrics.errors.inc({ kind: 'join' });
        log.warn({ err: describeError(err), scope, connId: session.connId }, 'snapshot or replay failed');
        rejectSession(session, UNAVAILABLE);
      });
    }
  }
}
