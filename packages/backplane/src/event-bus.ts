import type { IngestEvent, Scope } from '@hydra/protocol';

/** What the backplane assigned to one published event. */
export interface PublishedEvent {
  scope: Scope;
  /** The event's seq; 0 when `skipped`. */
  seq: number;
  /** Publish time, epoch ms, stamped by the backplane (Redis TIME on Redis). */
  ts: number;
  /**
   * Present (true) only when the event had no effect and nothing was stored
   * or published, no seq consumed: the `delete` of an entity id that is not
   * in the scope's state (never upserted, or already deleted or expired).
   */
  skipped?: true;
  /**
   * Present (true) only when the event's idempotency key was already stored
   * in its scope within the dedupe window: nothing was stored or published
   * now, and `seq`/`ts` are those of the original event.
   */
  duplicate?: true;
}

/**
 * An event to publish. `idempotencyKey` (log scopes; ignored for entity
 * scopes, which are idempotent by id) makes the publish exactly-once within
 * the bus's dedupe window: an event whose key its scope already stored in
 * that window is answered with the original's seq (PublishedEvent.duplicate)
 * and not stored or published again. The check and the store are one atomic
 * step. Keys are opaque non-empty strings of at most MAX_IDEMPOTENCY_KEY_LENGTH
 * characters (idempotency-key.ts derives them).
 */
export interface PublishEvent extends IngestEvent {
  idempotencyKey?: string | undefined;
}

/** Default of the dedupe window (the publisher's HYDRA_INGEST_DEDUPE_WINDOW): 10 minutes. */
export const DEFAULT_DEDUPE_WINDOW_MS = 600_000;

/**
 * Publishing side of the bus.
 *
 * Guarantee: for each event, assigning the next `seq` of its scope, updating
 * the scope's snapshot state, appending the frame to the scope's history and
 * handing the same frame to subscribers happen in ONE atomic step (one Lua
 * script on Redis, which does so for a bounded chunk of consecutive events of
 * one scope at once: a reader sees a scope before the chunk or after it). A subscriber therefore sees each scope's events in `seq`
 * order, a snapshot read at `seq` S contains exactly the effects of the
 * events with `seq` ≤ S, and history (HistoryStore) returns for each retained
 * `seq` the very bytes subscribers received.
 *
 * Entity lifecycle: an `op: 'delete'` event removes the entity from the state
 * and is published (own seq, in history) with the data of encodeRemovalData
 * (`{"id":…,"removed":true,"reason":"deleted"}`); deleting an id not in the
 * state publishes nothing (`skipped`). Entities past their TTL are removed
 * and announced the same way (reason "expired") by EntityExpirer, never
 * silently by publish.
 */
export interface EventPublisher {
  /**
   * Publishes `events`, each scope's in input order. Resolves with one
   * PublishedEvent per input, in input order. Rejects if the backplane is
   * unreachable; an event is reported as published only once it was stored.
   * On rejection any subset of the batch's chunks may have been stored (each
   * scope's stored events a prefix of its events in the batch): a retry with
   * the same idempotency keys stores each keyed event once.
   */
  publish(events: readonly PublishEvent[]): Promise<PublishedEvent[]>;
}

/**
 * Why a bus message reached no handler, or not every one (label values of
 * hydra_bus_messages_dropped_total): `malformed` (a message on a bus channel
 * that is not an event frame or a control notice: dropped), `handler_error`
 * (a BusHandler threw, which the contract forbids: caught, and the other
 * handlers still got the message).
 */
export type BusDropReason = 'malformed' | 'handler_error';
export const BUS_DROP_REASONS: readonly BusDropReason[] = ['malformed', 'handler_error'];

/** Which message a drop was about: never its content (it may be anything). */
export interface BusDrop {
  reason: BusDropReason;
  /** `events`: a scope's channel; `control`: a revocation notice; `subscribed`: an onSubscribed call. */
  channel: 'events' | 'control' | 'subscribed';
  /** The scope of an event channel. */
  scope?: Scope;
  /** Size of the message, in bytes. */
  bytes: number;
  /** What the handler threw (`handler_error` only). */
  error?: unknown;
}

/**
 * Told of every message the bus drops instead of throwing (log it, count it).
 * Called synchronously from the subscriber's message handler; must not throw
 * (a throw is swallowed).
 */
export type BusDropListener = (drop: BusDrop) => void;

/** Receives what the bus delivers. Implementations must not throw. */
export interface BusHandler {
  /**
   * One live event. `frame` is the exact wire message a client receives,
   * `{"type":"<scope>","seq":<n>,"ts":<ms>,"data":{...}}` (encodeEventFrame of
   * @hydra/protocol), built once by the publish step so gateways forward it
   * without re-serialising. Entity
   * removals (deleted or expired) arrive here like any event.
   */
  onEvent(scope: Scope, seq: number, frame: Buffer): void;
  /** The key with this id was revoked: close its live connections. */
  onKeyRevoked(keyId: string): void;
  /**
   * The subscription is (again) active. Called after the first subscribe and
   * after every reconnect; events published while it was down may be missing.
   */
  onSubscribed(): void;
  /**
   * The subscription was interrupted (its connection closed, a Cluster
   * shard's subscriber ended, or it is being renewed): events may be missed
   * from now until the next onSubscribed, and what arrives after may come
   * from another Redis (a promoted replica) with another sequence under the
   * same seqs. Every event delivered before this call came over the old
   * subscription. Optional: a bus on one process (memory) never calls it.
   */
  onInterrupted?(): void;
}

export interface BusSubscription {
  /** Stops delivery. Idempotent. */
  close(): Promise<void>;
}

export interface EventSubscriber {
  /** Subscribes to every scope and to control notices. Resolves once active. */
  subscribe(handler: BusHandler): Promise<BusSubscription>;
  /** Counts since the bus was created (a gateway exports them as metrics). */
  readonly stats: BusStats;
}

/** Counters a gateway exports as metrics: what the bus dropped instead of throwing, and what it healed. */
export interface BusStats {
  /** Messages on a bus channel that were not a valid frame or control notice. */
  readonly droppedMessages: number;
  /** Exceptions thrown by a BusHandler callback (caught; the handler contract forbids them). */
  readonly handlerErrors: number;
  /**
   * Subscriptions found silent while their scope's seq grew (SubscriptionWatchdog),
   * renewed and re-announced (hydra_bus_silent_resubscribes_total). Always 0 in memory.
   */
  readonly silentResubscribes: number;
}

export type EventBus = EventPublisher & EventSubscriber;
