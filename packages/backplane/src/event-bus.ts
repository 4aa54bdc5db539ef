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
}

/**
 * Publishing side of the bus.
 *
 * Guarantee: for each event, assigning the next `seq` of its scope, updating
 * the scope's snapshot state, appending the frame to the scope's history and
 * handing the same frame to subscribers happen in ONE atomic step (one Lua
 * script on Redis). A subscriber therefore sees each scope's events in `seq`
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
   * Publishes `events` in order. Resolves with one PublishedEvent per input,
   * in input order. Rejects if the backplane is unreachable; an event is
   * reported as published only once it was stored.
   */
  publish(events: readonly IngestEvent[]): Promise<PublishedEvent[]>;
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
