import type { CloseCode, ErrorCode, ResumePositions, Scope } from '@hydra/protocol';

/** Why a connection is upgraded only to be told it cannot be served: an `error`, then this close code. */
export interface Rejection {
  readonly code: ErrorCode;
  readonly message: string;
  readonly closeCode: CloseCode;
}

import type { WebSocket } from './uws.js';

/**
 * Per-connection state, attached to the uWS socket as its user data. Created
 * at upgrade; `ws` is set on open and must not be used once `closed` is true
 * (uWS forbids touching a socket after its close event).
 */
export interface Session {
  readonly connId: number;
  readonly ip: string;
  /** null for a connection that is only upgraded to be told it is unauthorised. */
  readonly keyId: string | null;
  readonly scopes: readonly Scope[];
  readonly expiresAt: number | null;
  readonly wantSnapshot: boolean;
  /** Scopes the client resumes (last seq it processed); these get a replay instead of a snapshot. */
  readonly resume: ResumePositions;
  /** Set when the connection must get an `error` and be closed right after opening. */
  readonly rejection: Rejection | null;
  /** A limiter slot is held for `ip` and must be released exactly once. */
  slotHeld: boolean;
  closed: boolean;
  /** A ping was sent and no pong has arrived since. */
  awaitingPong: boolean;
  /** Unsent bytes at the last slow-consumer check (slow-consumer-policy.ts). */
  backlog: number;
  /** Consecutive slow-consumer checks that found the backlog above the floor and not shrinking. */
  stalls: number;
  /** Data messages received from the client (it should send none). */
  clientMessages: number;
  ws: WebSocket<Session> | null;
}

export type SessionInit = Pick<
  Session,
  'connId' | 'ip' | 'keyId' | 'scopes' | 'expiresAt' | 'wantSnapshot' | 'resume' | 'rejection' | 'slotHeld'
>;

export function createSession(init: SessionInit): Session {
  return { ...init, closed: false, awaitingPong: false, backlog: 0, stalls: 0, clientMessages: 0, ws: null };
}
