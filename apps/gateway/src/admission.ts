import { type ConnectionLimiter, keyStatus } from '@hydra/backplane';
import {
  CloseCode,
  ENTITY_SCOPES,
  isWellFormedApiKey,
  parseConflation,
  parseRegion,
  parseResumePositions,
  type ResumePositions,
  type Scope,
} from '@hydra/protocol';
import { AuthThrottle, throttleSource } from '@hydra/throttle';
import { resolveClientIp } from './client-ip.js';
import type { GatewayConfig } from './config.js';
import { describeError } from './describe-error.js';
import type { KeyCache } from './key-cache.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics, RejectReason } from './metrics.js';
import { OverLimitCache } from './over-limit-cache.js';
import { ScopeNarrowing } from './scope-narrowing.js';
import { NO_RESUME, type Rejection, Session } from './session.js';
import { parseStreamQuery } from './stream-query.js';

/** What the upgrade handler copied from the request (uWS requests do not outlive the handler). */
export interface UpgradeRequest {
  headerKey: string;
  /** `X-Forwarded-For`, read only when trusted proxies are configured. */
  forwardedFor: string;
  /** The PROXY protocol's source address, read only when trusted proxies are configured. */
  proxiedIp: string;
  query: string;
  socketIp: string;
}

/** A resume position the connection will not be served: a scope its key lacks, or one its `scopes` option left out. */
function foreignResume(
  positions: ResumePositions,
  granted: readonly Scope[],
  served: readonly Scope[],
): Rejection | null {
  for (const scope of positions.keys()) {
    if (!granted.includes(scope)) return badRequest(`resume: the key does not grant scope ${scope}`);
    if (!served.includes(scope)) return badRequest(`resume: scope ${scope} is not in the scopes option`);
  }
  return null;
}

/** The answer to one upgrade request. */
export type Admission =
  /** An HTTP answer instead of the upgrade. */
  | { kind: 'refuse'; status: string; body: string; reason: RejectReason; retryAfter?: string }
  /** Upgrade; a session with a `rejection` is upgraded only to be told why (`error`, then the close). */
  | { kind: 'upgrade'; session: Session }
  /** The client went away during the checks: nothing to answer, nothing held. */
  | { kind: 'abandoned' };

export const UNAUTHORIZED_MESSAGE = 'invalid, expired, or revoked API key';

export const unauthorized = (message: string): Rejection => ({
  code: 'unauthorized',
  message,
  closeCode: CloseCode.Unauthorized,
});

export const badRequest = (message: string): Rejection => ({
  code: 'bad_request',
  message,
  closeCode: CloseCode.BadRequest,
});

const unavailable: Admission = {
  kind: 'refuse',
  status: '503 Service Unavailable',
  body: 'Service Unavailable',
  reason: 'unavailable',
};
const overLimit: Admission = {
  kind: 'refuse',
  status: '429 Too Many Connections',
  body: 'Too Many Connections',
  reason: 'ip_limit',
};

const authThrottled = (retryAfterMs: number): Admission => ({
  kind: 'refuse',
  status: '429 Too Many Requests',
  body: 'Too Many Failed Authentications',
  reason: 'auth_throttled',
  retryAfter: String(Math.ceil(retryAfterMs / 1000)),
});

export interface AdmissionDeps {
  config: GatewayConfig;
  keys: KeyCache;
  limiter: ConnectionLimiter;
  metrics: GatewayMetrics;
  log: Logger;
  /** True for a key revoked on the control channel after the cache read it. */
  isRevoked: (keyId: string) => boolean;
  isDraining: () => boolean;
}

/**
 * Decides each upgrade of `/v1/stream`, in order of cost:
 *
 * 1. A refusal that costs no key hash, lookup or Redis command: an IP the
 *    limiter refused within the last second (SECURITY.md, "Limits").
 * 2. The key. Unknown, revoked, expired and malformed keys get the same
 *    answer; each counts towards the source's auth throttle. A refused
 *    client is upgraded without a limiter slot, only to be told (`error`,
 *    then 1008 or 4002), as the contract requires. A source in an
 *    auth-failure cool-down is still answered for every key this gateway
 *    can judge without Redis (missing, malformed, or in the key cache:
 *    valid → admitted, otherwise `error` + 1008); only a key that would need
 *    a key-store read gets HTTP 429, so the cool-down stops guessing and
 *    the Redis load it causes, not a neighbour whose key is known here.
 * 3. The cluster-wide per-IP limit (one Redis script).
 *
 * Guarantee: a slot acquired here is either handed to the returned session
 * (`slotHeld`) or released before admit() resolves; never both, never
 * neither.
 */
export class AdmissionControl {
  private readonly authThrottle: AuthThrottle;
  private readonly overLimitCache: OverLimitCache;
  private readonly scopeNarrowing = new ScopeNarrowing();
  private nextConnId = 1;

  constructor(private readonly deps: AdmissionDeps) {
    const { config } = deps;
    this.authThrottle = new AuthThrottle({ failureLimit: config.authFailureLimit, windowMs: config.authThrottleMs });
    this.overLimitCache = new OverLimitCache({ ttlMs: OverLimitCache.ttlFor(config.limiterLeaseMs) });
  }

  /** `isAborted` says whether the client has gone away meanwhile (uWS `onAborted`). */
  async admit(req: UpgradeRequest, isAborted: () => boolean): Promise<Admission> {
    const { config, metrics } = this.deps;
    const query = parseStreamQuery(req.query);
    if (query === null) {
      return { kind: 'refuse', status: '414 URI Too Long', body: 'Query string too long', reason: 'bad_request' };
    }
    const ip = resolveClientIp(req.socketIp, req.forwardedFor, config.trustedProxies, req.proxiedIp);
    if (this.overLimitCache.isOverLimit(ip, Date.now())) {
      metrics.limiterDecisions.inc({ decision: 'refused_cached' });
      return overLimit;
    }
    const key = query.apiKey !== '' ? query.apiKey : req.headerKey;
    const resume = parseResumePositions(query.resume);
    const conflation = parseConflation(query.conflate);
    const region = query.bbox.length > 0 ? parseRegion(query.bbox) : null;
    const base = {
      connId: this.nextConnId++,
      ip,
      wantSnapshot: query.snapshot,
      wantHeartbeat: query.heartbeat,
      resume: resume.ok ? resume.positions : NO_RESUME,
      conflateMs: conflation.ok ? conflation.tierMs : 0,
      region: region?.ok ? region.region : null,
      // Taken before the lookup: a clear (a resubscribe's recheck) after it makes the answer suspect at open.
      keyGeneration: this.deps.keys.generation,
    };

    let rejection: Rejection | null = null;
    let record = null;
    if (key === '') rejection = unauthorized('missing API key');
    else if (!isWellFormedApiKey(key)) rejection = unauthorized(UNAUTHORIZED_MESSAGE);
    else {
      const retryAfterMs = this.authThrottle.retryAfterMs(ip, Date.now());
      if (retryAfterMs > 0) {
        // In a cool-down: decided from the key cache, or refused before any store read.
        const cached = this.deps.keys.peek(key);
        if (cached === undefined) return authThrottled(retryAfterMs);
        record = cached.record;
      } else {
        try {
          record = await this.deps.keys.lookup(key);
        } catch (err) {
          this.deps.log.warn({ err: describeError(err) }, 'key lookup failed');
          return isAborted() ? { kind: 'abandoned' } : unavailable;
        }
      }
      if (keyStatus(record, Date.now()) !== 'valid' || (record && this.deps.isRevoked(record.id))) {
        rejection = unauthorized(UNAUTHORIZED_MESSAGE);
      }
    }
    if (rejection !== null && key !== '') this.onAuthFailure(ip);
    let scopes: readonly Scope[] | undefined = record?.scopes;
    if (rejection === null && record !== null) {
      const narrowed = this.scopeNarrowing.narrow(record.scopes, query.scopes);
      if (!narrowed.ok) rejection = badRequest(narrowed.reason);
      else if (!resume.ok) rejection = badRequest(resume.reason);
      else if (!conflation.ok) rejection = badRequest(conflation.reason);
      else {
        scopes = narrowed.scopes;
        rejection = foreignResume(resume.positions, record.scopes, narrowed.scopes);
      }
      if (rejection === null && region !== null) {
        if (!region.ok) rejection = badRequest(region.reason);
        else if (!(scopes ?? []).some((scope) => ENTITY_SCOPES.includes(scope))) {
          rejection = badRequest(
            `bbox: filters the entity scopes (${ENTITY_SCOPES.join(', ')}), and the connection gets none`,
          );
        } else if (query.conflate !== '') {
          // Conflation tiers publish per tier, tiles per event: their product is not built (docs/protocol.md).
          rejection = badRequest('bbox: cannot be combined with conflate in this version; use one or the other');
        }
      }
    }
    if (isAborted()) return { kind: 'abandoned' };
    if (rejection !== null || record === null) {
      metrics.connectionsRejected.inc({ reason: rejection?.code === 'bad_request' ? 'bad_request' : 'unauthorized' });
      const session = new Session({
        ...base,
        grant: null,
        rejection: rejection ?? unauthorized(UNAUTHORIZED_MESSAGE),
        slotHeld: false,
      });
      return { kind: 'upgrade', session };
    }

    let decision: { granted: boolean; count: number };
    try {
      decision = await metrics.timeRedis('limiter_acquire', () => this.deps.limiter.acquire(ip));
    } catch (err) {
      metrics.limiterDecisions.inc({ decision: 'error' });
      this.deps.log.warn({ err: describeError(err) }, 'limiter unavailable');
      return isAborted() ? { kind: 'abandoned' } : unavailable;
    }
    metrics.limiterDecisions.inc({ decision: decision.granted ? 'granted' : 'refused' });
    this.overLimitCache.onDecision(ip, decision.granted, Date.now());
    if (!decision.granted) return isAborted() ? { kind: 'abandoned' } : overLimit;
    if (isAborted() || this.deps.isDraining()) {
      this.release(ip);
      if (isAborted()) return { kind: 'abandoned' };
      return { kind: 'refuse', status: '503 Service Unavailable', body: 'Server going away', reason: 'draining' };
    }
    // The record is the key cache's: connections of one key share it (and its scope array).
    return {
      kind: 'upgrade',
      session: new Session({ ...base, grant: record, scopes, rejection: null, slotHeld: true }),
    };
  }

  /** Gives back a slot admit() granted (on close, or when the upgrade did not happen). */
  release(ip: string): void {
    this.overLimitCache.onRelease(ip);
    this.deps.limiter.release(ip).catch((err: unknown) => {
      this.deps.metrics.errors.inc({ kind: 'limiter_release' });
      this.deps.log.warn({ err: describeError(err) }, 'limiter release failed; the slot frees with its lease');
    });
  }

  /** Forgets expired cool-downs and over-limit entries; call periodically. */
  sweep(now: number): void {
    this.overLimitCache.sweep(now);
    this.deps.metrics.authThrottledSources.set(this.authThrottle.sweep(now));
  }

  /** An unknown, revoked, expired or malformed key was presented from `ip`. */
  private onAuthFailure(ip: string): void {
    if (!this.authThrottle.recordFailure(ip, Date.now())) return;
    // Once per cool-down per source: the only place a client address is logged.
    this.deps.log.warn(
      {
        source: throttleSource(ip),
        failures: this.deps.config.authFailureLimit,
        coolDownMs: this.deps.config.authThrottleMs,
      },
      'repeated failed authentications; source throttled',
    );
  }
}
