import { type Backoff, busyDelay, fullJitter } from './backoff.js';

/** The close code the client reports for its own decisions (a gap, a dead peer, a timeout). */
export const LOCAL_CLOSE = 1006;

/** A second seq gap within this window backs off instead of reconnecting at once. */
export const GAP_WINDOW_MS = 10_000;

/** How one connection ended, as far as the policy reads it. */
export interface ConnectionEnd {
  /** The close code (LOCAL_CLOSE when the client gave up itself or the socket dropped). */
  code: number;
  /** The upgrade was answered 101. */
  upgraded: boolean;
  /** At least one message arrived (the `connected` one first). */
  served: boolean;
  /** The HTTP status of a refused upgrade (Node with `ws` only). */
  httpStatus?: number | undefined;
  /** Its Retry-After, in ms. */
  retryAfterMs?: number | undefined;
  /** The client gave up on the connection itself: `gap` (a seq gap, reconnect at once), `dead` (a timeout). */
  local?: 'gap' | 'dead' | undefined;
  /** The connection asked to resume at least one scope (`resume=` was sent). */
  resumed: boolean;
  /** The text of the last `error` message the server sent on it (a 4002 names what it refused). */
  serverError?: string | undefined;
}

/**
 * What to do after a connection ended: `end` (no retry can help: the key is
 * refused, the client broke the protocol, or the request itself is bad), or
 * `retry` after `delayMs`, `forgetPositions` when the server refused the
 * resume positions (4002): those scopes take a snapshot next time.
 */
export type ReconnectDecision = { kind: 'end' } | { kind: 'retry'; delayMs: number; forgetPositions: boolean };

/**
 * The reconnect policy of the client (README, "Reconnect policy"): which
 * close codes end it, how long each other ending waits, and which URL the
 * next attempt dials. Holds the state that policy needs across attempts
 * (the attempt count since the last served connection, the one quick retry
 * after an early drop, the last seq gap) and nothing about scopes or sockets.
 *
 * Guarantees: 1008 and 4001 end the client; a 4002 ends it only when there
 * was no resume position to drop or the server refused the `scopes` option
 * (the request itself was refused, so retrying unchanged would loop); every other ending retries, never sooner
 * than the server's Retry-After, never later than `maxMs` (or Retry-After).
 */
export class ReconnectPolicy {
  private readonly urls: readonly string[];
  private urlIndex = 0;
  private attempt = 0;
  private earlyRetried = false;
  private lastGapAt = Number.NEGATIVE_INFINITY;

  constructor(
    urls: readonly string[],
    private readonly backoff: Backoff,
    private readonly random: () => number,
  ) {
    if (urls.length === 0) throw new TypeError('HydraClient: no url');
    this.urls = urls;
  }

  /** The URL the next attempt dials. */
  get url(): string {
    return this.urls[this.urlIndex % this.urls.length] as string;
  }

  /** Attempts since the last served connection (the backoff exponent). */
  get attempts(): number {
    return this.attempt;
  }

  /** A connection was served (`connected` arrived): the backoff and the early retry start again. */
  served(): void {
    this.attempt = 0;
    this.earlyRetried = false;
  }

  /** Decides what follows `end`; a retry counts as an attempt and moves on to the next URL. */
  after(end: ConnectionEnd, now: number): ReconnectDecision {
    if (end.code === 1008 || end.code === 4001) return { kind: 'end' };
    // A refused `scopes` option is terminal like a refused key: the same request fails again.
    if (
      end.code === 4002 &&
      (!end.resumed || end.serverError?.startsWith('scopes:') || end.serverError?.startsWith('bbox:'))
    )
      return { kind: 'end' };
    const delayMs = this.delay(end, now);
    this.attempt++;
    this.urlIndex++;
    return { kind: 'retry', delayMs, forgetPositions: end.code === 4002 };
  }

  private delay(end: ConnectionEnd, now: number): number {
    const b = this.backoff;
    const random = this.random;
    const attempt = this.attempt;
    if (end.local === 'gap') {
      // A gap is never expected: reconnect at once, but never loop on a server that keeps producing them.
      const repeated = now - this.lastGapAt < GAP_WINDOW_MS;
      this.lastGapAt = now;
      if (!repeated) return 0;
    }
    if (end.httpStatus === 429 || end.code === 1013) return busyDelay(attempt, b, random, end.retryAfterMs);
    if (end.code === 1001 && end.served) return random() * b.drainMs;
    if (end.code === LOCAL_CLOSE && end.local === undefined && end.upgraded && !end.served && !this.earlyRetried) {
      this.earlyRetried = true; // the rare drop right after an upgrade: at once, once
      return 0;
    }
    return fullJitter(attempt, b, random);
  }
}
