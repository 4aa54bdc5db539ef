import type { Scope } from './scopes.js';

/** A JSON object as carried in `data`: known fields type-checked, unknown ones passed through. */
export type EventData = Record<string, unknown>;

/** First message on every authorised connection. */
export interface ConnectedMessage {
  type: 'connected';
  data: { scopes: Scope[]; ts: number };
}

/**
 * The state of one scope at sequence `seq`: live events of that scope with a
 * greater `seq` follow, none with a smaller or equal one.
 */
export interface SnapshotMessage {
  type: 'snapshot';
  data: {
    scope: Scope;
    seq: number;
    /**
     * The publish time of the event at `seq` (0 when `seq` is 0 or that event
     * left the history): a client resuming from this snapshot sends it as
     * its position's proof (`resume=<scope>:<seq>:<ts>`).
     */
    ts?: number;
    /** 1-based part of a snapshot sent in several messages (all at one seq). */
    part?: number;
    parts?: number;
    /** True on the last part: the client now holds the whole state at `seq`. */
    complete?: boolean;
    items: EventData[];
  };
}

/** Why a client's view of a scope restarts with a fresh snapshot. */
export type ResyncReason = 'history_gone' | 'backplane_gap' | 'replay_too_long' | 'stream_reset';

/** The client's view of `scope` restarts: a fresh snapshot (then live events) follows. */
export interface ResyncMessage {
  type: 'resync';
  data: { scope: Scope; reason: ResyncReason };
}

/**
 * One live event. `seq` increases by exactly 1 per event within a scope;
 * `ts` is the publish time (epoch ms) stamped by the backplane.
 *
 * In an entity scope, `data` is either the entity's new state (an upsert) or
 * an EntityRemovedData: the entity left the scope's state at this `seq`.
 */
export interface ScopeEventMessage<S extends Scope = Scope> {
  type: S;
  seq: number;
  ts: number;
  data: EventData;
}

/** Stable error codes carried in `error` messages. */
export const ErrorCode = Object.freeze({
  Unauthorized: 'unauthorized',
  Unavailable: 'unavailable',
  BadRequest: 'bad_request',
} as const);
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Sent before the gateway closes a connection for a reason the client should see. */
export interface ErrorMessage {
  type: 'error';
  data: { code: ErrorCode; message: string };
}

/**
 * Opt-in liveness signal (`heartbeat=true` in the query): sent every ping
 * interval, whether or not data flows, so a client that cannot see protocol
 * pings (a browser) can tell a dead connection from a quiet one.
 * `intervalMs` is the gateway's interval; miss two and the connection is dead.
 */
export interface HeartbeatMessage {
  type: 'heartbeat';
  data: { ts: number; intervalMs: number };
}

export type ServerMessage = ConnectedMessage | SnapshotMessage | ResyncMessage | ScopeEventMessage | ErrorMessage;

/** What a client that asked for `heartbeat=true` may receive. */
export type StreamMessage = ServerMessage | HeartbeatMessage;

/**
 * Why an entity left its scope: deleted through ingest, or not updated within
 * the scope's TTL; or, for a connection with a `bbox` only, `left_area`: it
 * moved out of the connection's tiles (or lost its position). A `left_area`
 * removal is made by the gateway for the connections that held the entity
 * and carries the `seq`/`ts` of the event that moved it; that event itself
 * may follow with the same `seq` when the entity moved into another of the
 * connection's tiles. It is never stored, and never a resume position.
 */
export type EntityRemovalReason = 'deleted' | 'expired' | 'left_area';

/**
 * The `data` of the event announcing that an entity left its scope, exactly
 * `{"id":"<id>","removed":true,"reason":"deleted"|"expired"}`. It has its
 * own `seq` like any event; the entity is absent from every snapshot at that
 * `seq` or later, until an upsert with the same id brings it back.
 */
export interface EntityRemovedData {
  id: string;
  removed: true;
  reason: EntityRemovalReason;
}

/** What an ingest item does: `upsert` (the default) stores `data`; `delete` removes the entity `data.id` (entity scopes only). */
export type IngestOp = 'upsert' | 'delete';

/** One item of an ingest batch, as POSTed to the publisher. */
export interface IngestEvent {
  scope: Scope;
  /** Absent means `upsert`. `delete` is valid for entity scopes only and needs just `data.id`. */
  op?: IngestOp;
  data: EventData;
}
