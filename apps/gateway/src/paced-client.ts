import type { WebSocket } from './uws.js';

/** A batch of frames waiting for a client's backlog to shrink, and what to do once all are handed over. */
export interface PendingBatch {
  readonly frames: readonly Buffer[];
  /** Index of the next frame to hand to uWS. */
  next: number;
  /** Called once every frame is handed to uWS (true), or when the session closes first (false). */
  readonly then: (sent: boolean) => void;
}

/**
 * What the pacer (paced-sender.ts) needs of a connection: its socket (null
 * before open), whether it closed (its socket must not be touched then), and
 * the outbox the pacer keeps on it. Session (session.ts) is one; the pacer
 * knows nothing else of it.
 */
export interface PacedClient {
  readonly ws: Pick<WebSocket<unknown>, 'cork' | 'send' | 'getBufferedAmount'> | null;
  readonly closed: boolean;
  /** Batches waiting for the client to read; null when none is. */
  outbox: PendingBatch[] | null;
}
