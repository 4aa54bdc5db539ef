import { isScope, type Scope } from '@hydra/protocol';
import { assertExpireArgs, type EntityExpirer } from './entity-expiry.js';
import {
  type BusDrop,
  type BusDropListener,
  type BusHandler,
  type BusStats,
  type BusSubscription,
  DEFAULT_DEDUPE_WINDOW_MS,
  type EventBus,
  type PublishEvent,
  type PublishedEvent,
} from './event-bus.js';
import { encodeIngestEvent } from './event-data.js';
import { assertDedupeWindow, idempotencyKeyOf } from './idempotency-key.js';
import { MemoryDedupe } from './memory-dedupe.js';
import type { AppliedEvent, MemoryScopeState } from './memory-scope-state.js';

export interface MemoryEventBusOptions {
  /** Shared with the backplane's MemorySnapshotStore. */
  state: MemoryScopeState;
  /** Told of each handler exception (for a log line and a metric); nothing is ever malformed in memory. */
  onDrop?: BusDropListener | undefined;
  /** RedisEventBusOptions.dedupeWindowMs: how long log scopes remember idempotency keys (default 10 min, 0 = off). */
  dedupeWindowMs?: number | undefined;
}

interface Subscriber {
  handler: BusHandler;
  closed: boolean;
}

type Delivery =
  | { kind: 'event'; scope: Scope; seq: number; frame: Buffer; to: readonly Subscriber[] }
  | { kind: 'key-revoked'; keyId: string; to: readonly Subscriber[] };

/**
 * EventBus for one process, with the semantics of RedisEventBus:
 *
 * - publish() stores each event (seq + state + history, synchronously, hence
 *   atomically) and queues its frame; frames are delivered in a later microtask, in the
 *   order stored (so per scope in seq order), like a Redis message that
 *   arrives after the script ran. A snapshot read in between can thus already
 *   contain an event not yet delivered: consumers drop seq ≤ snapshot seq,
 *   as they must on Redis.
 * - A frame goes to the subscriptions that existed when it was published
 *   (as Redis PUBLISH), minus those closed before delivery.
 * - Frames are Buffers with the bytes of encodeEventFrame() (@hydra/protocol), shared by all
 *   subscribers. Handler exceptions are caught, counted and told to `onDrop`.
 * - onSubscribed fires once, before subscribe() resolves (there is no
 *   reconnect in memory).
 * - expireEntities() removes expired entities and queues their removal
 *   frames like published events (exactly once: it is synchronous).
 */
export class MemoryEventBus implements EventBus, EntityExpirer {
  readonly #state: MemoryScopeState;
  /** Replaced, never mutated, so a queued delivery keeps the list it was published to. */
  #subscribers: readonly Subscriber[] = [];
  #queue: Delivery[] = [];
  #flushScheduled = false;
  #handlerErrors = 0;
  readonly #onDrop: BusDropListener | undefined;
  readonly #dedupe: MemoryDedupe;

  constructor(options: MemoryEventBusOptions) {
    this.#state = options.state;
    this.#onDrop = options.onDrop;
    this.#dedupe = new MemoryDedupe(assertDedupeWindow(options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS));
  }

  get stats(): BusStats {
    return { droppedMessages: 0, handlerErrors: this.#handlerErrors, silentResubscribes: 0 };
  }

  /**
   * Validates the whole batch first (a TypeError rejects it with nothing
   * stored), then stores in order; a log event whose idempotency key its
   * scope stored within the dedupe window is answered with the original.
   */
  async publish(events: readonly PublishEvent[]): Promise<PublishedEvent[]> {
    const retention = this.#state.retention;
    const encoded = events.map((event) => {
      if (!isScope(event.scope)) throw new TypeError(`unknown scope ${String(event.scope)}`);
      return encodeIngestEvent(event, retention[event.scope].kind === 'entity');
    });
    const keys = events.map((event) => idempotencyKeyOf(event));
    return events.map((event, i): PublishedEvent => {
      const key = retention[event.scope].kind === 'log' && this.#dedupe.enabled ? keys[i] : undefined;
      if (key !== undefined) {
        const original = this.#dedupe.find(event.scope, key, this.#state.now());
        if (original !== undefined) return { scope: event.scope, ...original, duplicate: true };
      }
      const applied = this.#state.apply(event.scope, encoded[i]!);
      if (key !== undefined && applied !== null) {
        this.#dedupe.claim(event.scope, key, { seq: applied.seq, ts: applied.ts }, applied.ts);
      }
      if (applied === null) return { scope: event.scope, seq: 0, ts: this.#state.now(), skipped: true };
      this.#deliver(event.scope, applied);
      return { scope: event.scope, seq: applied.seq, ts: applied.ts };
    });
  }

  async expireEntities(scope: Scope, limit: number): Promise<number> {
    assertExpireArgs(scope, limit, this.#state.retention);
    const removed = this.#state.expire(scope, limit);
    for (const applied of removed) this.#deliver(scope, applied);
    return removed.length;
  }

  /**
   * Tells every subscriber that the key with this id was revoked (the memory
   * counterpart of the Redis control notice; MemoryKeyStore's `onRevoked`).
   * Delivered asynchronously, after the frames already queued. Never throws.
   */
  notifyKeyRevoked(keyId: string): void {
    if (typeof keyId !== 'string' || keyId === '') return;
    this.#enqueue({ kind: 'key-revoked', keyId, to: this.#subscribers });
  }

  async subscribe(handler: BusHandler): Promise<BusSubscription> {
    const subscriber: Subscriber = { handler, closed: false };
    this.#subscribers = [...this.#subscribers, subscriber];
    this.#safely(() => handler.onSubscribed(), { channel: 'subscribed', bytes: 0 });
    return {
      close: async () => {
        if (subscriber.closed) return;
        subscriber.closed = true;
        this.#subscribers = this.#subscribers.filter((s) => s !== subscriber);
      },
    };
  }

  /** Closes every subscription. Idempotent. */
  async close(): Promise<void> {
    for (const s of this.#subscribers) s.closed = true;
    this.#subscribers = [];
  }

  #deliver(scope: Scope, { seq, frame }: AppliedEvent): void {
    this.#enqueue({ kind: 'event', scope, seq, frame, to: this.#subscribers });
  }

  #enqueue(delivery: Delivery): void {
    if (delivery.to.length === 0) return;
    this.#queue.push(delivery);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flush);
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const delivery of queue) {
      for (const s of delivery.to) {
        if (s.closed) continue;
        if (delivery.kind === 'event') {
          const { scope, seq, frame } = delivery;
          this.#safely(() => s.handler.onEvent(scope, seq, frame), { channel: 'events', scope, bytes: frame.length });
        } else this.#safely(() => s.handler.onKeyRevoked(delivery.keyId), { channel: 'control', bytes: 0 });
      }
    }
  };

  #safely(call: () => void, about: Omit<BusDrop, 'reason' | 'error'>): void {
    try {
      call();
    } catch (error) {
      this.#handlerErrors++;
      try {
        this.#onDrop?.({ ...about, reason: 'handler_error', error });
      } catch {
        // The listener must not throw; nothing else to tell.
      }
    }
  }
}
