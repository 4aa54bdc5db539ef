import type { Redis } from 'ioredis';
import { redisReconnectDelay } from './redis-connections.js';

/**
 * How an ioredis 5 client (5.11.1 read) reaches status `end` although nobody
 * called quit() or disconnect(), and stays there (ioredis#1683: "Connection
 * is closed." for good on 2 or 3 of 6 pods after a Sentinel failover; here 2
 * of 29 loaded test runs).
 *
 * A connection that closes is retried by ioredis' closeHandler
 * (redis/event_handler.js) with `retryStrategy`, which ours never refuses:
 * that path ends a client only after a manual close. But a connect attempt is
 * two steps. Redis#_connect (Redis.js) first awaits `connector.connect()`,
 * and if that promise rejects it flushes the queue, emits 'error' and sets
 * status `end`: no retryStrategy is asked, no timer is left, nothing connects
 * again. On one Redis the connector only makes a socket, but the
 * SentinelConnector (connectors/SentinelConnector/index.js) first asks a
 * sentinel for the primary (`await this.resolve(...)`, and sleeps between
 * rounds when no sentinel answers) and then rejects with "Connection is
 * closed." if `this.connecting` went false meanwhile. AbstractConnector's
 * disconnect() clears it, and one caller of that needs no one to close
 * anything: with `failoverDetector` (ours is on), the FailoverDetector
 * subscribed to `+switch-master` on every sentinel calls
 * `connector.disconnect()` on that message. The detector of the previous
 * connection is replaced only when a next connection's socket connects, so
 * while the client is reconnecting it is still listening. A failover thus
 * runs: the primary dies, the connection closes, ioredis retries every 50 ms
 * to 2 s, each attempt asking a sentinel first; the sentinels promote a
 * replica and publish `+switch-master`; the old detector disconnects the
 * connector. If that lands while an attempt waits for a sentinel's answer,
 * the attempt rejects and the client is `end` for good: every command fails
 * at once with "Connection is closed.", the subscriber receives nothing and
 * never says so. The window is one sentinel round trip per reconnect delay,
 * hence rare; a sentinel slow to answer (loaded, or itself restarting)
 * widens it. Redis#disconnect(true) (a reconnect request) landing on an
 * attempt in the same phase ends the client the same way.
 *
 * From `end`, Redis#connect() starts over (it refuses only while connecting
 * or connected), with a fresh sentinel lookup; once ready, ioredis resends
 * the subscriptions the connection had when it was last ready
 * (autoResubscribe), and RedisEventBus, which saw the 'end', subscribes again
 * and tells its handlers (onSubscribed) as after any reconnect.
 */

export interface EndedConnectionRevivalOptions {
  /**
   * The connection watched: one Redis, standalone or Sentinel-managed. Not a
   * Cluster: ioredis ends a Cluster by itself only when clusterRetryStrategy
   * gives up (ours never does), and a Cluster it ended has dropped the
   * listeners that forward its sharded subscribers' messages, so a revived
   * one would look subscribed and deliver nothing.
   */
  client: Redis;
  /**
   * Told just before each connect() this makes, with the attempt's number
   * since the connection was last ready (1, 2, …), for a metric and a log
   * line. Must not throw (a throw is swallowed; the connect still happens).
   */
  onRevive(attempt: number): void;
  /** The wait before attempt n (default redisReconnectDelay: 50 ms doubling to 2 s). */
  delayMs?: ((attempt: number) => number) | undefined;
}

/**
 * Reconnects a connection ioredis left in status `end` (see above) until
 * stop() is called.
 *
 * Guarantees:
 * - every 'end' the client emits before stop() leads, after delayMs(n), to one
 *   connect() unless the client left `end` meanwhile; a connect that fails by
 *   ending again leads to the next attempt, one that fails after the socket
 *   opened is ioredis' own reconnect again: the connection is never left
 *   ended while the revival runs;
 * - at most one attempt is pending at a time; n counts the attempts since
 *   the last 'ready' (so the delay grows only while the revivals fail);
 * - after stop() nothing is connected again, and the pending attempt is
 *   cancelled: an owner that calls stop() before its own quit() or
 *   disconnect() keeps that `end`.
 */
export class EndedConnectionRevival {
  readonly #client: Redis;
  readonly #onRevive: (attempt: number) => void;
  readonly #delayMs: (attempt: number) => number;
  #attempt = 0;
  #pending: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: EndedConnectionRevivalOptions) {
    this.#client = options.client;
    this.#onRevive = options.onRevive;
    this.#delayMs = options.delayMs ?? redisReconnectDelay;
    this.#client.on('end', this.#onEnd);
    this.#client.on('ready', this.#onReady);
  }

  /** Stops for good (idempotent): the client's next `end` stays. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#pending);
    this.#pending = undefined;
    this.#client.off('end', this.#onEnd);
    this.#client.off('ready', this.#onReady);
  }

  readonly #onEnd = (): void => {
    if (this.#stopped || this.#pending !== undefined) return;
    const attempt = ++this.#attempt;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      if (this.#stopped || this.#client.status !== 'end') return;
      try {
        this.#onRevive(attempt);
      } catch {
        // The listener must not throw; the connect matters more than its report.
      }
      // A rejection is either a new `end` (the next 'end' schedules the next attempt) or a socket that
      // closed after it opened (ioredis' retryStrategy reconnects); both are reported as the client's 'error'.
      this.#client.connect().catch(() => undefined);
    }, this.#delayMs(attempt));
  };

  readonly #onReady = (): void => {
    this.#attempt = 0;
  };
}
