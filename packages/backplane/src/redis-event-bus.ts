import { frameSeq, SCOPES, type Scope } from '@hydra/protocol';
import { type ControlNotice, decodeControlNotice, encodeControlNotice } from './control-notice.js';
import type { EntityExpirer } from './entity-expiry.js';
import type {
  BusDrop,
  BusDropListener,
  BusHandler,
  BusStats,
  BusSubscription,
  EventBus,
  PublishEvent,
  PublishedEvent,
} from './event-bus.js';
import { execRouted, isClusterClient, type RedisClient } from './redis-connections.js';
import { RedisEventPublisher, type RedisEventPublisherOptions } from './redis-event-publisher.js';
import { redisChannels, redisKeys } from './redis-keys.js';
import { SubscriptionWatchdog } from './subscription-watchdog.js';

export interface RedisEventBusOptions extends RedisEventPublisherOptions {
  /** Command connection: publishes (RedisEventPublisher) and reads seqs for the watchdog. Not closed by the bus. */
  redis: RedisClient;
  /** Dedicated connection for SUBSCRIBE (it enters subscriber mode). Not closed by the bus. */
  subscriber: RedisClient;
  /** Told of each dropped message and each handler exception (for a log line and a metric). */
  onDrop?: BusDropListener | undefined;
  /** How often the delivered seqs are compared with Redis' (SubscriptionWatchdog); 0 = never. Default 2000 ms. */
  subscriptionCheckMs?: number | undefined;
}

/**
 * EventBus on Redis: publishing is RedisEventPublisher's (one atomic
 * publish-batch.lua run per chunk of one scope's events; expire.lua for
 * entity expiry); this class adds the subscribing side: per-scope pub/sub
 * channels (sharded on Cluster) plus the control channel.
 *
 * Delivery: frames arrive as the Buffers Redis sent (ioredis `messageBuffer`),
 * never converted to strings. Malformed messages are counted and dropped;
 * handler exceptions are caught and counted; both are told to `onDrop`. Redis pub/sub is at-most-once:
 * while the subscriber connection is down events are lost, which is why
 * `onSubscribed` fires again once the subscription is re-established (the
 * gateway then resynchronises from a fresh snapshot).
 *
 * onSubscribed timing: once when subscribe() confirms (before its promise
 * resolves), then after every reconnect of the subscriber connection, only
 * after Redis has acknowledged the renewed SUBSCRIBE, so a snapshot read from
 * inside onSubscribed is never older than the live stream that follows.
 *
 * The injected clients are shared: the bus registers its scripts on
 * `redis` (defineCommand), and close() only unsubscribes its channels and
 * removes its listeners.
 */
export class RedisEventBus implements EventBus, EntityExpirer {
  readonly #redis: RedisClient;
  readonly #publisher: RedisEventPublisher;
  readonly #subscriber: RedisClient;
  readonly #channels: string[];
  readonly #scopeChannels: ReadonlyArray<readonly [Buffer, Scope]>;
  readonly #controlChannel: Buffer;
  /** Handlers that receive messages (from the moment subscribe() is called). */
  readonly #handlers = new Set<BusHandler>();
  /** Handlers whose first onSubscribed has fired: they are told about reconnects. */
  readonly #active = new Set<BusHandler>();
  #attached = false;
  /** The subscriber connection closed since the subscription was last confirmed. */
  #down = false;
  /** Cluster: a sharded subscriber ended or was replaced since the subscription was last renewed and confirmed. */
  #shardLost = false;
  /** Cluster: sharded subscribers lost so far (a renewal confirms only those before it started). */
  #shardLosses = 0;
  /** Cluster: a renewal after a lost shard is in flight. */
  #shardRenewal = false;
  /** Bumped on every ready: a stale re-subscribe confirmation is ignored. */
  #generation = 0;
  #dropped = 0;
  #handlerErrors = 0;
  readonly #onDrop: BusDropListener | undefined;
  /** Redis Cluster: scope events ride sharded pub/sub (SPUBLISH/SSUBSCRIBE), the control channel plain pub/sub. */
  readonly #sharded: boolean;
  readonly #watchdog: SubscriptionWatchdog | undefined;
  #silentResubscribes = 0;

  constructor(options: RedisEventBusOptions) {
    this.#publisher = new RedisEventPublisher(options);
    this.#redis = options.redis;
    this.#subscriber = options.subscriber;
    this.#onDrop = options.onDrop;
    this.#channels = [...SCOPES.map((s) => redisChannels.scopeEvents(s)), redisChannels.control()];
    this.#scopeChannels = SCOPES.map((s) => [Buffer.from(redisChannels.scopeEvents(s)), s] as const);
    this.#controlChannel = Buffer.from(redisChannels.control());
    this.#sharded = isClusterClient(options.redis);
    const checkMs = options.subscriptionCheckMs ?? 2_000;
    this.#watchdog =
      checkMs > 0
        ? new SubscriptionWatchdog({
            intervalMs: checkMs,
            readSeqs: () => this.#readSeqs(),
            onSilent: () => this.#renewSubscription(),
          })
        : undefined;
  }

  get stats(): BusStats {
    return {
      droppedMessages: this.#dropped,
      handlerErrors: this.#handlerErrors,
      silentResubscribes: this.#silentResubscribes,
    };
  }

  /** RedisEventPublisher.publish: one atomic publish-batch.lua run per chunk of one scope's events. */
  publish(events: readonly PublishEvent[]): Promise<PublishedEvent[]> {
    return this.#publisher.publish(events);
  }

  /** RedisEventPublisher.expireEntities: expire.lua, exactly once across processes. */
  expireEntities(scope: Scope, limit: number): Promise<number> {
    return this.#publisher.expireEntities(scope, limit);
  }

  async subscribe(handler: BusHandler): Promise<BusSubscription> {
    this.#attach();
    this.#handlers.add(handler);
    try {
      await this.#subscribeChannels();
    } catch (error) {
      this.#remove(handler);
      throw error;
    }
    this.#active.add(handler);
    this.#safely(() => handler.onSubscribed(), { channel: 'subscribed', bytes: 0 });
    let closing: Promise<void> | undefined;
    return {
      close: () => {
        closing ??= this.#remove(handler);
        return closing;
      },
    };
  }

  /** Closes every subscription of this bus (the injected clients stay open). Idempotent. */
  async close(): Promise<void> {
    const handlers = [...this.#handlers];
    await Promise.all(handlers.map((h) => this.#remove(h)));
  }

  async #remove(handler: BusHandler): Promise<void> {
    if (!this.#handlers.delete(handler)) return;
    this.#active.delete(handler);
    if (this.#handlers.size > 0) return;
    this.#detach();
    const unsubscribed = this.#unsubscribeChannels().then(
      () => undefined,
      () => undefined,
    );
    // While disconnected the UNSUBSCRIBE waits in ioredis' offline queue; do not
    // hold close() hostage to a reconnect (ioredis forgets the channels either way).
    if (this.#subscriber.status === 'ready') await unsubscribed;
  }

  /** SUBSCRIBE to every channel; on Cluster SSUBSCRIBE each scope's (one slot per call) and SUBSCRIBE the control channel. */
  async #subscribeChannels(): Promise<void> {
    if (!this.#sharded) {
      await this.#subscriber.subscribe(...this.#channels);
      return;
    }
    const control = redisChannels.control();
    await Promise.all(
      this.#channels.map((c) => (c === control ? this.#subscriber.subscribe(c) : this.#subscriber.ssubscribe(c))),
    );
  }

  async #unsubscribeChannels(): Promise<void> {
    if (!this.#sharded) {
      await this.#subscriber.unsubscribe(...this.#channels);
      return;
    }
    const control = redisChannels.control();
    await Promise.all(
      this.#channels.map((c) => (c === control ? this.#subscriber.unsubscribe(c) : this.#subscriber.sunsubscribe(c))),
    );
  }

  /** Each scope's last assigned seq in Redis (0 for a scope never published). */
  async #readSeqs(): Promise<Map<Scope, number>> {
    const results = await execRouted(
      this.#redis,
      SCOPES.map((scope) => ({ key: redisKeys.scopeSeq(scope), command: ['get', redisKeys.scopeSeq(scope)] as const })),
    );
    return new Map(
      SCOPES.map((scope, i) => {
        const [error, value] = results[i]!;
        if (error) throw error;
        return [scope, Number(value ?? 0)];
      }),
    );
  }

  /**
   * The watchdog found the subscription silent: drop it, subscribe again and,
   * once Redis confirmed, tell every handler as after a reconnect (the gateway
   * re-primes: clients are caught up from history or resynced).
   */
  #renewSubscription(): void {
    if (!this.#attached) return;
    this.#silentResubscribes++;
    void this.#resubscribe();
  }

  /**
   * Drops the subscription and subscribes again; onInterrupted first,
   * onSubscribed once Redis confirmed. Resolves true when it was confirmed
   * (and announced), false when Redis was away or another renewal overtook it.
   */
  #resubscribe(): Promise<boolean> {
    this.#interrupted();
    const generation = ++this.#generation;
    return this.#unsubscribeChannels()
      .catch(() => undefined)
      .then(() => this.#subscribeChannels())
      .then(
        () => {
          if (!this.#attached || generation !== this.#generation) return false;
          for (const handler of this.#active)
            this.#safely(() => handler.onSubscribed(), { channel: 'subscribed', bytes: 0 });
          return true;
        },
        () => false, // Redis away: its reconnect re-subscribes and announces; the watchdog checks again.
      );
  }

  #attach(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.#watchdog?.start();
    this.#down = false;
    this.#subscriber.on('messageBuffer', this.#onMessage);
    this.#subscriber.on('smessageBuffer', this.#onMessage);
    this.#subscriber.on('close', this.#onClose);
    this.#subscriber.on('end', this.#onClose);
    this.#subscriber.on('ready', this.#onReady);
    if (this.#sharded) {
      this.#subscriber.on('-node', this.#onShardLost);
      this.#subscriber.on('-subscriber', this.#onShardLost);
      this.#subscriber.on('subscribersReady', this.#onShardsResubscribed);
    }
  }

  #detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#watchdog?.stop();
    this.#subscriber.off('messageBuffer', this.#onMessage);
    this.#subscriber.off('smessageBuffer', this.#onMessage);
    this.#subscriber.off('close', this.#onClose);
    this.#subscriber.off('end', this.#onClose);
    this.#subscriber.off('ready', this.#onReady);
    this.#subscriber.off('-node', this.#onShardLost);
    this.#subscriber.off('-subscriber', this.#onShardLost);
    this.#subscriber.off('subscribersReady', this.#onShardsResubscribed);
  }

  readonly #onClose = (): void => {
    this.#down = true;
    this.#interrupted();
  };

  /**
   * Cluster: a sharded subscriber ended (`-node` with its node key; the
   * command pool's `-node` has none and is not the subscription) or was
   * stopped to be replaced (`-subscriber`, which a subscriber that lost its
   * slots while still open gets without ending). ioredis re-subscribes its
   * channels by itself, without the Cluster client closing. Events of that
   * shard may be missed, and its replacement may be a promoted replica with
   * another sequence.
   */
  readonly #onShardLost = (...args: unknown[]): void => {
    if (args.length === 1) return; // `-node` of a command connection
    this.#shardLosses++;
    this.#shardLost = true;
    this.#interrupted();
  };

  /**
   * Cluster: ioredis has re-subscribed its sharded subscribers after a
   * topology change. After a lost shard the subscription is renewed as the
   * watchdog would (our own SSUBSCRIBE confirms it is live), then handlers
   * hear onSubscribed and re-prime: what the shard published meanwhile is
   * caught up or resynced now, not at the watchdog's next check.
   */
  readonly #onShardsResubscribed = (): void => {
    // One renewal at a time: while a master is down every failed subscriber start ends in another round
    // (`-node`, a refresh, `subscribersReady`), and each renewal costs every scope a history read.
    if (!this.#shardLost || this.#shardRenewal) return;
    this.#shardRenewal = true;
    const losses = this.#shardLosses;
    void this.#resubscribe().then((confirmed) => {
      this.#shardRenewal = false;
      // Lost again meanwhile, or not confirmed (the shard still down): the next `subscribersReady` renews.
      if (confirmed && losses === this.#shardLosses) this.#shardLost = false;
    });
  };

  #interrupted(): void {
    // Every handler, also one whose first subscribe is not confirmed yet: its first prime must not trust it either.
    for (const handler of this.#handlers)
      this.#safely(() => handler.onInterrupted?.(), { channel: 'subscribed', bytes: 0 });
  }

  /**
   * ioredis emits 'ready' (on the next tick) after it has already written its
   * own automatic re-SUBSCRIBE. Our SUBSCRIBE of the same channels is a no-op
   * for Redis but is answered after that one, so when it resolves the
   * subscription is live again and onSubscribed may fire.
   */
  readonly #onReady = (): void => {
    if (!this.#down) return;
    this.#down = false;
    const generation = ++this.#generation;
    this.#subscribeChannels().then(
      () => {
        if (this.#down || generation !== this.#generation) return;
        for (const handler of this.#active)
          this.#safely(() => handler.onSubscribed(), { channel: 'subscribed', bytes: 0 });
      },
      () => {
        // The connection dropped again; its next 'ready' retries.
      },
    );
  };

  readonly #onMessage = (channel: Buffer, message: Buffer): void => {
    for (const [name, scope] of this.#scopeChannels) {
      if (!channel.equals(name)) continue;
      const seq = frameSeq(message);
      if (seq < 1) {
        this.#drop({ reason: 'malformed', channel: 'events', scope, bytes: message.length });
        return;
      }
      this.#watchdog?.delivered(scope, seq);
      for (const handler of this.#handlers) {
        try {
          handler.onEvent(scope, seq, message);
        } catch (error) {
          this.#drop({ reason: 'handler_error', channel: 'events', scope, bytes: message.length, error });
        }
      }
      return;
    }
    if (!channel.equals(this.#controlChannel)) return; // another user's channel on a shared connection
    const notice = decodeControlNotice(message.toString('utf8'));
    if (notice === null) {
      this.#drop({ reason: 'malformed', channel: 'control', bytes: message.length });
      return;
    }
    for (const handler of this.#handlers) {
      this.#safely(() => handler.onKeyRevoked(notice.keyId), { channel: 'control', bytes: message.length });
    }
  };

  #safely(call: () => void, about: Omit<BusDrop, 'reason' | 'error'>): void {
    try {
      call();
    } catch (error) {
      this.#drop({ ...about, reason: 'handler_error', error });
    }
  }

  #drop(drop: BusDrop): void {
    if (drop.reason === 'malformed') this.#dropped++;
    else this.#handlerErrors++;
    try {
      this.#onDrop?.(drop);
    } catch {
      // The listener must not throw; nothing else to tell.
    }
  }
}

/**
 * Sends a control notice to every gateway subscribed on this Redis (the key
 * store calls it after a revocation is stored). Resolves with the number of
 * subscriber connections that received it; rejects if Redis is unreachable.
 * Delivery is at-most-once like all pub/sub: gateways that were disconnected
 * catch up through their key cache expiry and the onSubscribed resync.
 */
export function publishControlNotice(redis: RedisClient, notice: ControlNotice): Promise<number> {
  return redis.publish(redisChannels.control(), encodeControlNotice(notice));
}
