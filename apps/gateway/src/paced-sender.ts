import type { PacedClient, PendingBatch } from './paced-client.js';

/** The pacer's budget per client: half the hard per-client limit, so a paced part never nears it. */
export function pacedBudget(maxBufferedBytes: number): number {
  return Math.floor(maxBufferedBytes / 2);
}

/**
 * Paced sends of large batches to one client: snapshots and history replays.
 *
 * Guarantees:
 * - Frames reach the client in the order given, batch after batch in the
 *   order of the calls, each frame exactly once.
 * - What the gateway holds for the client stays near `budgetBytes`: a frame
 *   is handed to uWS only while the client's unsent backlog plus that frame
 *   fits the budget (or the backlog is empty, so one frame larger than the
 *   budget still goes, alone). The rest waits in the session's outbox and
 *   follows on uWS's `drain` events, as the client reads. A snapshot of any
 *   size therefore reaches a slow client without ever nearing the hard
 *   per-client limit (HYDRA_MAX_BUFFERED_BYTES), and a connect storm holds
 *   at most `budgetBytes` per client, not every client's whole snapshot.
 * - A batch that fits is sent synchronously: `send` returns true and the
 *   caller continues in the same step (`then` is not called).
 * - Once a session has a non-empty outbox every later batch queues behind
 *   it, so nothing overtakes what is waiting.
 * - A session that closes drops its outbox; each pending `then` gets false.
 */
export class PacedSender {
  constructor(
    readonly budgetBytes: number,
    /** Called each time a non-empty batch is queued because the client's backlog is full (backpressure). */
    private readonly onQueued: () => void = () => {},
    /**
     * Called when frames for one client were handed to uWS or queued for it
     * (by the pacer, or reported with `sentOutside`): the slow-consumer
     * policy watches it.
     */
    private readonly onSent: (client: PacedClient) => void = () => {},
    /**
     * The compress hint of every data frame the gateway hands to uWS, paced
     * or not (compression.ts): the scope streams read it here too.
     */
    readonly compress = false,
  ) {}

  /** Frames handed to uWS for the client without the pacer (a ring tail before it goes live): reported as its own. */
  sentOutside(client: PacedClient): void {
    this.onSent(client);
  }

  /** Whether `bytes` more would fit the session's budget now (and nothing waits before them). */
  fits(session: PacedClient, bytes: number): boolean {
    const ws = session.ws;
    return ws !== null && session.outbox === null && ws.getBufferedAmount() + bytes <= this.budgetBytes;
  }

  /**
   * Sends `frames` to the session's socket. Returns true when every frame
   * was handed to uWS now; otherwise the rest is queued, false is returned,
   * and `then` runs once the last frame is handed over (or the session closes).
   */
  send(session: PacedClient, frames: readonly Buffer[], then: (sent: boolean) => void): boolean {
    const ws = session.ws;
    if (!ws || session.closed) return true;
    this.onSent(session);
    if (session.outbox === null) {
      const next = this.push(session, frames, 0);
      if (next === frames.length) return true;
      if (session.closed) {
        then(false); // closed while sending: nothing will drain
        return false;
      }
      session.outbox = [{ frames, next, then }];
      this.onQueued();
      return false;
    }
    session.outbox.push({ frames, next: 0, then });
    if (frames.length > 0) this.onQueued();
    return false;
  }

  /** The same as `send`, as a promise: resolves true once every frame is handed over, false if the session closed. */
  sendAsync(session: PacedClient, frames: readonly Buffer[]): Promise<boolean> {
    return new Promise((resolve) => {
      if (!session.ws || session.closed) resolve(false);
      else if (this.send(session, frames, resolve)) resolve(true);
    });
  }

  /** uWS's `drain` for this session's socket: hands over what now fits, and continues finished batches. */
  onDrain(session: PacedClient): void {
    const box = session.outbox;
    if (box === null || session.closed) return;
    while (box.length > 0) {
      const batch = box[0] as PendingBatch;
      batch.next = this.push(session, batch.frames, batch.next);
      if (session.closed) return; // abandon() has told every batch
      if (batch.next < batch.frames.length) return; // the rest on a later drain
      box.shift();
      batch.then(true); // may queue more batches, behind those already waiting
      if (session.closed) return;
    }
    if (session.outbox === box && box.length === 0) session.outbox = null;
  }

  /** The session closed: its waiting batches are dropped and told so. */
  abandon(session: PacedClient): void {
    const box = session.outbox;
    session.outbox = null;
    if (box) for (const batch of box) batch.then(false);
  }

  /** Hands frames from `from` to uWS while they fit the budget; returns the index of the first not handed. */
  private push(session: PacedClient, frames: readonly Buffer[], from: number): number {
    const ws = session.ws;
    if (!ws) return from;
    let i = from;
    // Inside cork, getBufferedAmount() leaves out the cork buffer (16 KiB at most): the budget is
    // exceeded by that much at worst.
    ws.cork(() => {
      while (i < frames.length && !session.closed) {
        const frame = frames[i] as Buffer;
        const backlog = ws.getBufferedAmount();
        if (backlog > 0 && backlog + frame.length > this.budgetBytes) break;
        ws.send(frame, false, this.compress);
        i++;
      }
    });
    if (i > from) this.onSent(session);
    return i;
  }
}
