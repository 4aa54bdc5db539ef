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
  data: { scope: Scope; seq: number; items: EventData[] };
}

/**
 * One live event. `seq` increases by exactly 1 per event within a scope;
 * `ts` is the publish time (epoch ms) stamped by the backplane.
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

export type ServerMessage = ConnectedMessage | SnapshotMessage | ScopeEventMessage | ErrorMessage;

/** One item of an ingest batch, as POSTed to the publisher. */
export interface IngestEvent {
  scope: Scope;
  data: EventData;
}
