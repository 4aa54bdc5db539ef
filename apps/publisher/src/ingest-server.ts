import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backplane } from '@hydra/backplane';
import { AuthThrottle, throttleSource } from '@hydra/throttle';
import type { Registry } from 'prom-client';
import { createBearerCheck } from './bearer-auth.js';
import { DEFAULT_AUTH_FAILURE_LIMIT, DEFAULT_AUTH_THROTTLE_MS, type PublisherConfig } from './config.js';
import { IDEMPOTENCY_HEADER, readIdempotencyHeader } from './idempotency.js';
import { ingestBody } from './ingest.js';
import type { Logger } from './logger.js';
import { createIngestMetrics } from './metrics.js';
import { readBody } from './read-body.js';

export interface IngestServerOptions {
  /** Only the publishing side and the health flag are used; the caller owns (and closes) the backplane. */
  backplane: Pick<Backplane, 'bus' | 'isHealthy'>;
  config: Pick<PublisherConfig, 'ingestToken' | 'maxBodyBytes' | 'maxItemBytes'> &
    Partial<Pick<PublisherConfig, 'authFailureLimit' | 'authThrottleMs'>>;
  logger: Logger;
  /** Ingest metrics are registered here, and `GET /metrics` serves this registry. */
  registry: Registry;
  /** How long close() lets in-flight requests finish before cutting their connections (default 10 s). */
  closeGraceMs?: number;
}

export interface IngestServer {
  readonly server: Server;
  /** The request handler, for a composition that serves it from its own node:http server. */
  readonly requestListener: RequestListener;
  /**
   * Starts listening. Without a token (in-memory backplane only) ingest is
   * unauthenticated, so the default host is then loopback; with one, every interface.
   */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /**
   * Stops accepting connections, fails `/readyz`, lets in-flight requests
   * finish (their events are stored and answered), then resolves. Connections
   * still busy after the grace period are cut. Idempotent. Does not close the backplane.
   */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The publisher's HTTP API:
 * - `POST /v1/events` — auth-failure throttle, bearer token, body limit, per-item validation, publish
 *   (log items deduplicated by idempotency key: idempotency.ts; an invalid `Idempotency-Key` is 400).
 *   A source (IPv4, IPv6 /64) that sent `authFailureLimit` wrong tokens within
 *   `authThrottleMs` gets 429 for the next `authThrottleMs`, before any token
 *   check, whatever it sends (the gateway's policy, @hydra/throttle): guessing
 *   the token is held to `authFailureLimit` tries per window and per publisher.
 *   A request without an Authorization header is not a guess and is not counted.
 * - `GET /healthz` — the process is alive; `GET /readyz` — the backplane is reachable and we are not closing.
 * - `GET /metrics` — Prometheus text of the given registry.
 */
export function createIngestServer(options: IngestServerOptions): IngestServer {
  const { backplane, config, registry } = options;
  const logger = options.logger.child({ component: 'ingest' });
  const metrics = createIngestMetrics(registry);
  const checkToken = config.ingestToken === undefined ? undefined : createBearerCheck(config.ingestToken);
  const authFailureLimit = config.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT;
  const authThrottleMs = config.authThrottleMs ?? DEFAULT_AUTH_THROTTLE_MS;
  const authThrottle = new AuthThrottle({ failureLimit: authFailureLimit, windowMs: authThrottleMs });
  const closeGraceMs = options.closeGraceMs ?? 10_000;
  let closing = false;
  let closePromise: Promise<void> | undefined;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    metrics.request(status);
    if (res.headersSent || res.destroyed) return;
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': JSON_TYPE,
      'content-length': Buffer.byteLength(payload),
      'cache-control': 'no-store',
      ...(closing ? { connection: 'close' } : {}),
      ...headers,
    });
    res.end(payload);
  };

  const postEvents = async (req: IncomingMessage, res: ServerResponse) => {
    // Answers given before the body was read close the connection: the rest
    // of the body is discarded, not read into memory or parsed as a next request.
    const early = { connection: 'close' };
    if (checkToken !== undefined) {
      const source = req.socket.remoteAddress ?? '';
      const now = Date.now();
      const retryAfterMs = authThrottle.retryAfterMs(source, now);
      if (retryAfterMs > 0) {
        req.resume();
        metrics.authThrottled();
        const retryAfter = String(Math.ceil(retryAfterMs / 1000));
        send(res, 429, { error: 'too many failed authentications' }, { ...early, 'retry-after': retryAfter });
        return;
      }
      if (!checkToken(req.headers.authorization)) {
        req.resume();
        if (req.headers.authorization !== undefined && authThrottle.recordFailure(source, now)) {
          // Once per cool-down per source; the token presented is never logged.
          logger.warn(
            { source: throttleSource(source), failures: authFailureLimit, coolDownMs: authThrottleMs },
            'repeated failed ingest authentications; source throttled',
          );
        }
        send(res, 401, { error: 'unauthorized' }, { ...early, 'www-authenticate': 'Bearer' });
        return;
      }
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      req.resume();
      send(res, 415, { error: 'unsupported content-encoding', supported: ['identity'] }, early);
      return;
    }
    const batchKey = readIdempotencyHeader(req.headers[IDEMPOTENCY_HEADER]);
    if (typeof batchKey === 'object') {
      req.resume();
      send(res, 400, { error: 'invalid idempotency key', reason: batchKey.invalid }, early);
      return;
    }
    const read = await readBody(req, config.maxBodyBytes);
    if (read.kind === 'aborted') {
      res.destroy();
      return;
    }
    if (read.kind === 'too-large') {
      send(res, 413, { error: 'payload too large', limitBytes: config.maxBodyBytes }, early);
      return;
    }
    const outcome = await ingestBody(
      read.body.toString('utf8'),
      req.headers['content-type'],
      backplane.bus,
      metrics,
      config.maxItemBytes,
      batchKey,
    );
    if (outcome.status === 503) {
      logger.error({ err: outcome.cause }, 'publish failed: backplane unavailable');
    } else if (outcome.status === 400) {
      logger.debug({ reply: outcome.body }, 'ingest request refused in part or whole');
    }
    send(res, outcome.status, outcome.body);
  };

  const requestListener: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const route = async () => {
      switch (path) {
        case '/v1/events':
          if (req.method !== 'POST') return methodNotAllowed(req, res, 'POST');
          return postEvents(req, res);
        case '/healthz':
          if (req.method !== 'GET') return methodNotAllowed(req, res, 'GET');
          return send(res, 200, { status: 'ok' });
        case '/readyz': {
          if (req.method !== 'GET') return methodNotAllowed(req, res, 'GET');
          const ready = !closing && backplane.isHealthy();
          return send(res, ready ? 200 : 503, {
            status: ready ? 'ready' : closing ? 'closing' : 'backplane unavailable',
          });
        }
        case '/metrics': {
          if (req.method !== 'GET') return methodNotAllowed(req, res, 'GET');
          const text = await registry.metrics();
          metrics.request(200);
          res.writeHead(200, { 'content-type': registry.contentType, ...(closing ? { connection: 'close' } : {}) });
          res.end(text);
          return;
        }
        default:
          req.resume();
          return send(res, 404, { error: 'not found' });
      }
    };
    route().catch((err: unknown) => {
      logger.error({ err, method: req.method, path }, 'request failed');
      send(res, 500, { error: 'internal error' }, { connection: 'close' });
    });
  };

  const methodNotAllowed = (req: IncomingMessage, res: ServerResponse, allow: string) => {
    req.resume();
    send(res, 405, { error: 'method not allowed', allow: [allow] }, { allow });
  };

  const server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000 }, requestListener);

  const runClose = async () => {
    closing = true;
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const cut = setTimeout(() => {
      logger.warn({ closeGraceMs }, 'in-flight requests did not finish in time; closing their connections');
      server.closeAllConnections();
    }, closeGraceMs);
    await closed;
    clearTimeout(cut);
  };

  return {
    server,
    requestListener,
    listen: (port, host = checkToken === undefined ? '127.0.0.1' : undefined) =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host }, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: () => {
      closePromise ??= runClose();
      return closePromise;
    },
  };
}
