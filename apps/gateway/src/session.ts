import type { CloseCode, ConflationTierMs, ErrorCode, RegionFilter, ResumePositions, Scope } from '@hydra/protocol';
import type { PendingBatch } from './paced-client.js';
import type { WebSocket } from './uws.js';

/** Why a connection is upgraded only to be told it cannot be served: an `error`, then this close code. */
export interface Rejection {
  readonly code: ErrorCode;
  readonly message: string;
  readonly closeCode: CloseCode;
}

/**
 * What a key grants a connection. The gateway passes the key record it looked
 * up, so every connection of a key made within the key cache's TTL shares one
 * object (and one scope array) instead of copying it.
 */
export interface KeyGrant {
  readonly id: string;
  readonly scopes: readonly Scope[];
  readonly expiresAt: number | null;
}

/** No resume positions: shared by every connection that does not resume. */
export const NO_RESUME: ResumePositions = new Map();
const NO_SCOPES: readonly Scope[] = Object.freeze([]);

/**
 * What uWS holds for a socket. uWS copies the own properties of the object
 * passed to `upgrade` onto its WebSocket object, so it carries one reference
 * and the state lives in the (compact) Session.
 */
export interface SocketData {
  readonly session: Session;
}

export interface SessionInit {
  connId: number;
  ip: string;
  /** null for a connection that is only upgraded to be told it is unauthorised. */
  grant: KeyGrant | null;
  /** The scopes served (`scopes=`, scope-narrowing.ts): a shared array. Absent: the grant's. */
  scopes?: readonly Scope[];
  wantSnapshot: boolean;
  /** `heartbeat=true`: subscribed to the heartbeat topic once served (heartbeat-topic.ts). Absent: false. */
  wantHeartbeat?: boolean;
  resume: ResumePositions;
  /** `conflate=<ms>`: the conflation tier of its entity scopes (scope-conflation.ts). Absent: 0, every event. */
  conflateMs?: ConflationTierMs | 0;
  /** `bbox`: the entity scopes are filtered to these tiles (region-catch-up.ts). Absent: null, unfiltered. */
  region?: RegionFilter | null;
  rejection: Rejection | null;
  slotHeld: boolean;
  /** KeyCache.generation when the key was looked up: an older one at open means the answer may be stale. */
  keyGeneration: number;
}

const WANT_SNAPSHOT = 1;
const SLOT_HELD = 2;
const CLOSED = 4;
const AWAITING_PONG = 8;
const DRAINED = 16;
const DRAINED_SINCE_PING = 32;
const WANT_HEARTBEAT = 64;
const STIRRED = 128;

/**
 * Per-connection state, created at upgrade; `ws` is set on open and must not
 * be used once `closed` is true (uWS forbids touching a socket after its
 * close event).
 *
 * Memory: this is the gateway's whole per-connection JavaScript state (plus
 * one entry in the registry), so it stays a fixed-shape object of a few
 * words: the key's grant is shared, booleans are bits of one small integer,
 * nothing per connection is a closure, a timer, an array or a copy of the
 * upgrade request, except the outbox of a client whose snapshot or replay
 * is being paced, for as long as it is.
 */
export class Session {
  readonly connId: number;
  readonly ip: string;
  readonly grant: KeyGrant | null;
  /** The scopes this connection is served: the grant's, or the subset its `scopes` option named. */
  readonly scopes: readonly Scope[];
  /** Scopes the client resumes (last seq it processed); these get a replay instead of a snapshot. */
  readonly resume: ResumePositions;
  /** The boxes and tiles of `bbox` (entity scopes only get the entities of these tiles); null: unfiltered. */
  readonly region: RegionFilter | null;
  /** Set when the connection must get an `error` and be closed right after opening. */
  readonly rejection: Rejection | null;
  /** KeyCache.generation when the key was looked up (SessionInit). */
  readonly keyGeneration: number;
  /** The conflation tier of its entity scopes (`conflate=<ms>`), 0 for every event. */
  readonly conflateMs: ConflationTierMs | 0;
  /** Unsent bytes (uWS's, the ping included) right after the last ping or at the last tick it was awaited. */
  pingBacklog = 0;
  /** Unsent bytes at the last slow-consumer check (slow-consumer-policy.ts). */
  backlog = 0;
  /** Consecutive slow-consumer checks that found the backlog above the floor and not shrinking. */
  stalls = 0;
  /** Data messages received from the client (it should send none). */
  clientMessages = 0;
  /** Times a paced snapshot or replay fell behind the ring and continued from history (scope-catch-up.ts). */
  catchUps = 0;
  ws: WebSocket<SocketData> | null = null;
  /** Batches waiting for the client to read (paced-sender.ts); null when none is. */
  outbox: PendingBatch[] | null = null;
  /** Where the slow-consumer policy keeps it (watched, or a resting bucket); null when it does not. */
  slowConsumerSet: Set<Session> | null = null;
  private flags: number;

  constructor(init: SessionInit) {
    this.connId = init.connId;
    this.ip = init.ip;
    this.grant = init.grant;
    this.scopes = init.scopes ?? init.grant?.scopes ?? NO_SCOPES;
    this.resume = init.resume.size === 0 ? NO_RESUME : init.resume;
    this.region = init.region ?? null;
    this.rejection = init.rejection;
    this.keyGeneration = init.keyGeneration;
    this.conflateMs = init.conflateMs ?? 0;
    this.flags =
      (init.wantSnapshot ? WANT_SNAPSHOT : 0) |
      (init.slotHeld ? SLOT_HELD : 0) |
      (init.wantHeartbeat ? WANT_HEARTBEAT : 0);
  }

  get keyId(): string | null {
    return this.grant?.id ?? null;
  }

  get expiresAt(): number | null {
    return this.grant?.expiresAt ?? null;
  }

  get wantSnapshot(): boolean {
    return (this.flags & WANT_SNAPSHOT) !== 0;
  }

  /** The client asked for `heartbeat` messages (`heartbeat=true`). */
  get wantHeartbeat(): boolean {
    return (this.flags & WANT_HEARTBEAT) !== 0;
  }

  /** A limiter slot is held for `ip` and must be released exactly once. */
  get slotHeld(): boolean {
    return (this.flags & SLOT_HELD) !== 0;
  }

  set slotHeld(on: boolean) {
    this.set(SLOT_HELD, on);
  }

  get closed(): boolean {
    return (this.flags & CLOSED) !== 0;
  }

  set closed(on: boolean) {
    this.set(CLOSED, on);
  }

  /** A ping was sent and no pong has arrived since. */
  get awaitingPong(): boolean {
    return (this.flags & AWAITING_PONG) !== 0;
  }

  set awaitingPong(on: boolean) {
    this.set(AWAITING_PONG, on);
  }

  /** uWS drained some of this client's backlog into the kernel: the client is reading. */
  markDrained(): void {
    this.flags |= DRAINED | DRAINED_SINCE_PING;
  }

  /** Whether a drain happened since the last call (which clears it). */
  takeDrained(): boolean {
    const drained = (this.flags & DRAINED) !== 0;
    this.flags &= ~DRAINED;
    return drained;
  }

  /** Whether a drain happened since the last call (which clears it): the heartbeat's own view. */
  takeDrainedSincePing(): boolean {
    const drained = (this.flags & DRAINED_SINCE_PING) !== 0;
    this.flags &= ~DRAINED_SINCE_PING;
    return drained;
  }

  /** The client sent a frame or uWS drained its backlog: either holds back uWS's idle ping (heartbeat.ts). */
  markStirred(): void {
    this.flags |= STIRRED;
  }

  /** Whether it was stirred since the last call (which clears it). */
  takeStirred(): boolean {
    const stirred = (this.flags & STIRRED) !== 0;
    this.flags &= ~STIRRED;
    return stirred;
  }

  private set(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit;
  }
}
