import type { AdmissionControl, UpgradeRequest } from './admission.js';
import { describeError } from './describe-error.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics, RejectReason } from './metrics.js';
import type { Session, SocketData } from './session.js';
import type { HttpRequest, HttpResponse } from './uws.js';

/**
 * Largest block of request header fields (names, values, `: ` and CRLF; the
 * request line not counted, its query has its own limit: 414) answered with
 * anything but 431. uWS 20.30 enforces about the same bound itself, as
 * UWS_HTTP_MAX_HEADERS_SIZE (4 KiB, the request line included), but only on
 * a head that spans several reads, and it closes that connection before any
 * JavaScript sees the request: no status can be written (hostile-http.test.ts).
 * A head that arrives in one read (up to uWS's 512 KiB receive buffer) reaches
 * this handler whole; this bound refuses it the same way whatever the
 * segmentation, and says why.
 */
export const MAX_HEADER_BYTES = 4096;

/** A Connection header value holding the "Upgrade" token (a comma-separated list, any case). */
const CONNECTION_UPGRADE = /(?:^|,)\s*upgrade\s*(?:,|$)/i;
/** A Connection header value holding the "close" token. */
const CONNECTION_CLOSE = /(?:^|,)\s*close\s*(?:,|$)/i;
/** An Upgrade header value holding the "websocket" token. */
const UPGRADE_WEBSOCKET = /(?:^|,)\s*websocket\s*(?:,|$)/i;
/** The base64 of 16 bytes, canonical: 22 characters, the last with 4 zero bits, then `==` (RFC 6455 §4.1). */
const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/** An HTTP answer instead of the upgrade. */
export interface Refusal {
  status: string;
  body: string;
  reason: RejectReason;
  headers?: readonly (readonly [string, string])[];
}

/** The handshake headers checked before any admission work. */
export interface Handshake {
  /** Header field bytes (MAX_HEADER_BYTES). */
  headerBytes: number;
  connection: string;
  version: string;
  key: string;
}

/**
 * The refusal a handshake gets on its form alone (RFC 6455 §4.2.1–4.2.2), or
 * null when it may go on to admission.
 */
export function checkHandshake(handshake: Handshake): Refusal | null {
  if (handshake.headerBytes > MAX_HEADER_BYTES) {
    return {
      status: '431 Request Header Fields Too Large',
      body: `Request header fields over ${MAX_HEADER_BYTES} bytes`,
      reason: 'bad_request',
    };
  }
  // uWS answers an upgrade whose (first) Connection header says `close` with 101 and closes the socket at
  // once: the client would see a bare 1006. Such a handshake (RFC 6455 §4.1 wants the Upgrade token
  // there) gets a 400 that says why instead.
  if (CONNECTION_CLOSE.test(handshake.connection) && !CONNECTION_UPGRADE.test(handshake.connection)) {
    return {
      status: '400 Bad Request',
      body: 'Connection: close cannot be upgraded; send Connection: Upgrade',
      reason: 'bad_request',
    };
  }
  // uWS checks neither the version nor the key's form (only its length, 24, to route the request here).
  if (handshake.version !== '13') {
    return {
      status: '426 Upgrade Required',
      body: 'Unsupported WebSocket version; send Sec-WebSocket-Version: 13',
      reason: 'bad_request',
      headers: [['sec-websocket-version', '13']],
    };
  }
  if (!WEBSOCKET_KEY.test(handshake.key)) {
    return {
      status: '400 Bad Request',
      body: 'Sec-WebSocket-Key must be the base64 encoding of 16 bytes',
      reason: 'bad_request',
    };
  }
  return null;
}

/** Copies the handshake headers (and the header block's size) out of a uWS request. */
function readHandshake(req: HttpRequest): Handshake {
  let headerBytes = 0;
  req.forEach((name, value) => {
    headerBytes += name.length + value.length + 4;
  });
  return {
    headerBytes,
    connection: req.getHeader('connection'),
    version: req.getHeader('sec-websocket-version'),
    key: req.getHeader('sec-websocket-key'),
  };
}

export interface UpgradeHandlerDeps {
  admission: AdmissionControl;
  metrics: GatewayMetrics;
  log: Logger;
  /** Trusted proxies are configured: X-Forwarded-For and the PROXY protocol's address are read. */
  behindProxy: boolean;
  isDraining: () => boolean;
  /** Subscribed and primed: until then upgrades get 503. */
  isStarted: () => boolean;
}

/**
 * The HTTP side of `/v1/stream`: checks the handshake's form, copies what
 * admission needs from the request (uWS requests do not outlive the
 * handler), and answers with admission's verdict: an upgrade, or an HTTP
 * refusal. Requests on any other path, or upgrades uWS did not route here,
 * are answered by `otherRequest`.
 */
export class UpgradeHandler {
  constructor(private readonly deps: UpgradeHandlerDeps) {}

  /** The `upgrade` of the uWS WebSocket behaviour. */
  upgrade(res: HttpResponse, req: HttpRequest, context: unknown): void {
    const malformed = checkHandshake(readHandshake(req));
    if (malformed !== null) {
      this.refuse(res, malformed);
      return;
    }
    const secKey = req.getHeader('sec-websocket-key');
    const secProtocol = req.getHeader('sec-websocket-protocol');
    const secExtensions = req.getHeader('sec-websocket-extensions');
    const headerKey = req.getHeader('x-api-key');
    const { behindProxy } = this.deps;
    const forwardedFor = behindProxy ? req.getHeader('x-forwarded-for') : '';
    // uWS parses a PROXY protocol v2 header (plain listener only: it would precede the TLS handshake) from
    // any peer; resolveClientIp believes its source address only when the socket peer is a trusted proxy.
    const proxiedIp = behindProxy ? Buffer.from(res.getProxiedRemoteAddressAsText()).toString() : '';
    const query = req.getQuery() ?? '';
    const socketIp = Buffer.from(res.getRemoteAddressAsText()).toString();
    if (this.deps.isDraining()) {
      this.refuse(res, { status: '503 Service Unavailable', body: 'Server going away', reason: 'draining' });
      return;
    }
    if (!this.deps.isStarted()) {
      this.refuse(res, { status: '503 Service Unavailable', body: 'Service Unavailable', reason: 'unavailable' });
      return;
    }
    const pending = { aborted: false };
    res.onAborted(() => {
      pending.aborted = true;
    });
    const request: UpgradeRequest = { headerKey, forwardedFor, proxiedIp, query, socketIp };
    let admitted: Session | null = null;
    this.deps.admission
      .admit(request, () => pending.aborted)
      .then((admission) => {
        if (admission.kind === 'upgrade') {
          admitted = admission.session;
          const data: SocketData = { session: admission.session };
          res.cork(() => res.upgrade(data, secKey, secProtocol, secExtensions, context as never));
        } else if (admission.kind === 'refuse') {
          const { status, body, reason, retryAfter } = admission;
          this.refuse(res, {
            status,
            body,
            reason,
            headers: retryAfter === undefined ? [] : [['retry-after', retryAfter]],
          });
        }
      })
      .catch((err: unknown) => {
        this.deps.log.error({ err: describeError(err) }, 'upgrade failed');
        this.deps.metrics.errors.inc({ kind: 'upgrade' });
        // No socket, so no close event: the slot admission handed over is given back here.
        const session = admitted as Session | null;
        if (session?.slotHeld) {
          session.slotHeld = false;
          this.deps.admission.release(session.ip);
        }
        try {
          if (!pending.aborted) {
            this.refuse(res, {
              status: '500 Internal Server Error',
              body: 'Internal Server Error',
              reason: 'unavailable',
            });
          }
        } catch {
          // the response is gone (aborted or already upgraded): nothing more to answer
        }
      });
  }

  /**
   * Every request the stream route did not take: 404, except a WebSocket
   * handshake on the stream path whose key uWS would not route (it yields
   * any key whose length is not 24, an empty or missing one included), which
   * gets the handshake's own refusal.
   */
  otherRequest(res: HttpResponse, req: HttpRequest, streamPath: string): void {
    if (req.getMethod() === 'get' && req.getUrl() === streamPath && UPGRADE_WEBSOCKET.test(req.getHeader('upgrade'))) {
      const malformed = checkHandshake(readHandshake(req));
      if (malformed !== null) {
        this.refuse(res, malformed);
        return;
      }
    }
    res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end('Not Found');
  }

  private refuse(res: HttpResponse, refusal: Refusal): void {
    this.deps.metrics.connectionsRejected.inc({ reason: refusal.reason });
    res.cork(() => {
      res.writeStatus(refusal.status).writeHeader('content-type', 'text/plain');
      for (const [name, value] of refusal.headers ?? []) res.writeHeader(name, value);
      res.end(refusal.body);
    });
  }
}
