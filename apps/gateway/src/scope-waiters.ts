import type { Session } from './session.js';

interface Waiter {
  session: Session;
  /** The client has every effect up to this seq (snapshot or replay). */
  seq: number;
  since: number;
  /** Registration order: a waiter whose ticket is below a read's was given a snapshot read before that one. */
  ticket: number;
}

/**
 * Clients of one scope that hold its state up to a seq this gateway has not
 * received yet, each with a ticket: tickets are taken in the order the
 * clients' data was read, so a snapshot read that took the ticket counter
 * before starting can tell the waiters whose data was read before it.
 */
export class ScopeWaiters {
  private waiters: Waiter[] = [];
  private nextTicket = 0;

  /** The ticket the next client gets: a read started now is ordered after every waiter below it. */
  get ticket(): number {
    return this.nextTicket;
  }

  /** Takes the next ticket for a client whose data was just read (it may wait with it later). */
  takeTicket(): number {
    return this.nextTicket++;
  }

  /** `session` holds the scope up to `seq`, which this gateway has not received yet. */
  add(session: Session, seq: number, ticket: number): void {
    this.waiters.push({ session, seq, since: performance.now(), ticket });
  }

  /** Removes a closed session. */
  forget(session: Session): void {
    if (this.waiters.length > 0) this.waiters = this.waiters.filter((w) => w.session !== session);
  }

  /** Whether a client has waited longer than `ms`. */
  hasStale(ms: number): boolean {
    const now = performance.now();
    return this.waiters.some((w) => now - w.since > ms);
  }

  /**
   * Calls `release` for each open waiter whose seq is at most `reached()`
   * (asked anew for each), and keeps the others. The list is swapped out
   * first, so a waiter added or forgotten by anything `release` triggers (a
   * socket closing, a re-entrant event) is neither lost nor resurrected.
   */
  release(reached: () => number, release: (session: Session, seq: number) => void): void {
    if (this.waiters.length === 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (w.session.closed) continue;
      if (w.seq > reached()) {
        this.waiters.push(w);
        continue;
      }
      release(w.session, w.seq);
    }
  }

  /**
   * Removes and returns the open waiters registered before `ticket` that wait
   * for a seq beyond `seq`.
   */
  takeAhead(seq: number, ticket: number): { session: Session; seq: number }[] {
    const ahead = (w: Waiter) => w.ticket < ticket && w.seq > seq && !w.session.closed;
    const stuck = this.waiters.filter(ahead);
    if (stuck.length > 0) this.waiters = this.waiters.filter((w) => !ahead(w));
    return stuck;
  }

  /** Every waiting session (closed ones included). */
  *sessions(): Iterable<Session> {
    for (const w of this.waiters) yield w.session;
  }

  clear(): void {
    this.waiters = [];
  }
}
