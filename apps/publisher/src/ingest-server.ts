import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backplane } from '@hydra/backplane';
import { isNdjsonContentType } from '@hydra/protocol';
import { AuthThrottle, throttleSource } from '@hydra/throttle';
import type { Registry } from 'prom-client';
import { createBearerCheck } from './bearer-auth.js';
import {
  DEFAULT_AUTH_FAILURE_LIMIT,
  DEFAULT_AUTH_THROTTLE_MS,
  DEFAULT_MAX_STREAMS,
  DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  DEFAULT_STREAM_MAX_IN_FLIGHT_LINES,
  type PublisherConfig,
} from './config.js';
import { IDEMPOTENCY_HEADER, readIdempotencyHeader } from './idempotency.js';
import { ingestBody } from './ingest.js';
import { IngestStream, type IngestStreamLimits } from './ingest-stream.js';
import type { Logger } from './logger.js';
import { createIngestMetrics } from './metrics.js';
import { readBody } from './read-body.js';

export interface IngestServerOptions {
  /** Only the publishing side and the health flag are used; the caller owns (and closes) the backplane. */
  backplane: Pick<Backplane, 'bus' | 'isHealthy'>;
  config: Pick<PublisherConfig, 'ingestToken' | 'maxBodyBytes' | 'maxItemBytes'> &
    Partial<
      Pick<
        PublisherConfig,
        | 'authFailureLimit'
        | 'authThrottleMs'
        | 'streamMaxLineBytes'
        | 'streamIdleTimeoutMs'
        | 'streamMaxInFlightLines'
        | 'maxStreams'
      >
    >;
  logger: Logger;
  /** Ingest metrics are registered here, and `GET /metrics` serves this registry. */
  registry: Registry;
  /** How long close() lets in-flight requests finish before cutting their connections (default 10 s). */
  closeGraceMs?: number;
  /** A `POST /v1/events` body not received whole within this is answered 408 (default 60 s). */
  bodyTimeoutMs?: number;
  /** Longest a stream's line waits for its group to fill before the group is published (default 5 ms). */
  streamGroupWaitMs?: number;
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
   * finish (their events are stored and answered) and drains open streams
   * (they stop reading, acknowledge every line they received in full and end
   * with `server_closing`), then resolves. Connections
   * still busy after the grace period are cut. Idempotent. Does not close the backplane.
   */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
/**
 * Headers of answers given before the body was read: they close the
 * connection, so the rest of the body is discarded, not read into memory or
 * parsed as a next request.
 */
const EARLY = { connection: 'close' } as const;
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson'] as const;
/** A batch body not received whole within this is answered 408 (what the server's request timeout did before streams). */
const DEFAULT_BODY_TIMEOUT_MS = 60_000;
/** A stream's group waits at most this for more lines: the latency it adds to a lone line. */
export const DEFAULT_STREAM_GROUP_WAIT_MS = 5;

/**
 * The publisher's HTTP API:
 * - `POST /v1/events` — auth-failure throttle, bearer token, body limit, per-item validation, publish
 *   (log items deduplicated by idempotency key: idempotency.ts; an invalid `Idempotency-Key` is 400).
 *   A source (IPv4, IPv6 /64) that sent `authFailureLimit` wrong tokens within
 *   `authThrottleMs` gets 429 for the next `authThrottleMs`, before any token
 *   check, whatever it sends (the gateway's policy, @hydra/throttle): guessing
 *   the token is held to `authFailureLimit` tries per window and per publisher.
 *   A request without an Authorization header is not a guess and is not counted.
 * - `POST /v1/events/stream` — the same checks (one throttle for both routes), then NDJSON read line by
 *   line as it arrives and acknowledged line by line (ingest-stream.ts); 415 for another Content-Type,
 *   503 when closing or the backplane is down before it starts, and 503 with `Retry-After: 1` while
 *   `maxStreams` streams are open (each holds at most the body limit of unacknowledged lines).
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
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const streamLimits: IngestStreamLimits = {
    maxLineBytes: config.streamMaxLineBytes ?? Math.min(2 * config.maxItemBytes, config.maxBodyBytes),
    maxItemBytes: config.maxItemBytes,
    maxInFlightLines: config.streamMaxInFlightLines ?? DEFAULT_STREAM_MAX_IN_FLIGHT_LINES,
    maxInFlightChars: config.maxBodyBytes,
    idleTimeoutMs: config.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    groupWaitMs: options.streamGroupWaitMs ?? DEFAULT_STREAM_GROUP_WAIT_MS,
  };
  const maxStreams = config.maxStreams ?? DEFAULT_MAX_STREAMS;
  const streams = new Set<IngestStream>();
  /** Set by the first refusal at the stream cap, cleared when a stream ends: one warning per stretch at the cap. */
  let atStreamCap = false;
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

  /**
   * Answers a request whose body will not be read: the body is drained, not
   * buffered, and the connection closes after the answer (EARLY).
   */
  const refuseUnread = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    req.resume();
    send(res, status, body, { ...EARLY, ...headers });
  };

  /**
   * What both ingest routes check before reading a body, in this order:
   * auth-failure throttle (429), bearer token (401), Content-Encoding (415),
   * Idempotency-Key (400). Answers and returns undefined when refused, else
   * the request's batch key (possibly none).
   */
  const admit = (req: IncomingMessage, res: ServerResponse): { batchKey: string | undefined } | undefined => {
    if (checkToken !== undefined) {
      const source = req.socket.remoteAddress ?? '';
      const now = Date.now();
      const retryAfterMs = authThrottle.retryAfterMs(source, now);
      if (retryAfterMs > 0) {
        metrics.authThrottled();
        const retryAfter = String(Math.ceil(retryAfterMs / 1000));
        refuseUnread(req, res, 429, { error: 'too many failed authentications' }, { 'retry-after': retryAfter });
        return undefined;
      }
      if (!checkToken(req.headers.authorization)) {
        if (req.headers.authorization !== undefined && authThrottle.recordFailure(source, now)) {
          // Once per cool-down per source; the token presented is never logged.
          logger.warn(
            { source: throttleSource(source), failures: authFailureLimit, coolDownMs: authThrottleMs },
            'repeated failed ingest authentications; source throttled',
          );
        }
        refuseUnread(req, res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
        return undefined;
      }
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      refuseUnread(req, res, 415, { error: 'unsupported content-encoding', supported: ['identity'] });
      return undefined;
    }
    const batchKey = readIdempotencyHeader(req.headers[IDEMPOTENCY_HEADER]);
    if (typeof batchKey === 'object') {
      refuseUnread(req, res, 400, { error: 'invalid idempotency key', reason: batchKey.invalid });
      return undefined;
    }
    return { batchKey };
  };

  const postEvents = async (req: IncomingMessage, res: ServerResponse) => {
    const admitted = admit(req, res);
    if (admitted === undefined) return;
    const read = await readBody(req, config.maxBodyBytes, bodyTimeoutMs);
    if (read.kind === 'aborted') {
      res.destroy();
      return;
    }
    if (read.kind === 'timeout') {
      send(res, 408, { error: 'request timeout', limitMs: bodyTimeoutMs }, EARLY);
      return;
    }
    if (read.kind === 'too-large') {
      send(res, 413, { error: 'payload too large', limitBytes: config.maxBodyBytes }, EARLY);
      return;
    }
    const outcome = await ingestBody(
      read.body.toString('utf8'),
      req.headers['content-type'],
      backplane.bus,
      metrics,
      config.maxItemBytes,
      admitted.batchKey,
    );
    if (outcome.status === 503) {
      logger.error({ err: outcome.cause }, 'publish failed: backplane unavailable');
    } else if (outcome.status === 400) {
      logger.debug({ reply: outcome.body }, 'ingest request refused in part or whole');
    }
    send(res, outcome.status, outcome.body);
  };

  const postEventStream = (req: IncomingMessage, res: ServerResponse) => {
    const admitted = admit(req, res);
    if (admitted === undefined) return;
    if (!isNdjsonContentType(req.headers['content-type'])) {
      refuseUnread(req, res, 415, { error: 'unsupported content-type', supported: [...NDJSON_TYPES] });
      return;
    }
    if (closing) {
      refuseUnread(req, res, 503, { error: 'closing' });
      return;
    }
    if (!backplane.isHealthy()) {
      refuseUnread(req, res, 503, { error: 'backplane unavailable' });
      return;
    }
    if (streams.size >= maxStreams) {
      metrics.streamRefused();
      if (!atStreamCap) {
        atStreamCap = true;
        logger.warn({ maxStreams }, 'ingest streams at HYDRA_INGEST_MAX_STREAMS; refusing new ones with 503');
      }
      refuseUnread(req, res, 503, { error: 'too many streams', limit: maxStreams }, { 'retry-after': '1' });
      return;
    }
    metrics.request(200);
    const stream = new IngestStream(req, res, backplane.bus, metrics, streamLimits, admitted.batchKey, logger);
    streams.add(stream);
    void stream.done.then(() => {
      streams.delete(stream);
      atStreamCap = false;
    });
    stream.start();
  };

  const requestListener: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const route = async () => {
      switch (path) {
        case '/v1/events':
          if (req.method !== 'POST') return methodNotAllowed(req, res, 'POST');
          return postEvents(req, res);
        case '/v1/events/stream':
          if (req.method !== 'POST') return methodNotAllowed(req, res, 'POST');
          return postEventStream(req, res);
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

  // No server-wide request timeout: it would cut a stream after that long. A batch body has its own (readBody).
  const server = createServer({ requestTimeout: 0, headersTimeout: 20_000 }, requestListener);

  const runClose = async () => {
    closing = true;
    // Streams stop reading and acknowledge what they read; their connections then close by themselves.
    for (const stream of streams) void stream.drain();
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
