import type { GatewayMetrics } from './metrics.js';
import type { Session } from './session.js';

/** Spacing of the heartbeat's ticks: each pings the sessions of the slots that came due. */
const SLOT_MS = 100;

/**
 * Protocol pings (guarantee 5): every open session gets a ping frame at least
 * every `intervalMs`, whether or not data flows, and a dead peer is dropped.
 * Which clock pings depends on the interval (native-pings.ts):
 *
 * - **uWS's idle pings** (`native`: intervals of 8 s and more, every
 *   deployment). uWS pings a socket from C++ once it has heard nothing from
 *   it for `pingEverySeconds` (12 s at the default 15 s), and closes it once
 *   it then hears nothing for the margin (8 s): an idle client costs no
 *   JavaScript, not even for its pong. Three things hold uWS's ping back: a
 *   data frame from the client, a ping of its own, and a drain of its
 *   backlog; each reaches JavaScript anyway (`message`, `ping`, `drain`),
 *   which `stir`s the session: it is pinged at once, then by this timer
 *   every interval until it goes a whole interval unstirred; that last
 *   ping's pong hands it back to uWS, which pings it within
 *   `pingEverySeconds` of that pong. Dead peers are uWS's to find: nothing
 *   received and nothing drained for `pingEverySeconds` + margin (20 s at
 *   the default), a live client reading a backlog slowly included, as each
 *   drain proves it reads.
 * - **our own timer** (`timer`: intervals under 8 s, which uWS cannot time:
 *   tests). Every session is pinged every `intervalMs`, whether or not data
 *   flows. A session that has not answered the previous ping by its next
 *   turn is a dead peer and is dropped, so a dead peer lives at most two
 *   intervals, unless its ping is still queued behind data uWS holds for it
 *   and the client made progress since: that backlog shrank, or, while a
 *   paced snapshot or replay refills it (paced-sender.ts), uWS drained some
 *   of it. A live client on a slow link reading a large snapshot has not
 *   seen the ping yet, and gets another interval each time it makes
 *   progress. A client that makes none is dropped at that turn (and the
 *   slow-consumer policy cuts a stalled one well before).
 *
 * One timer for all sessions, never one per socket. The pings are spread
 * over the interval, and a tick costs what is due in it, not what is
 * connected: the interval is cut into slots of SLOT_MS, a session belongs to
 * slot `connId % slots` (a Set per slot, joined and left in O(1)), and each
 * tick walks only the slots whose time came by the clock. So a gateway
 * holding 50,000 clients never stalls its live fan-out for the 50,000 socket
 * writes of a single ping sweep; with its own timer an idle one visits each
 * client once per interval, and with uWS's pings it visits none. Slots
 * follow the clock, not a tick count: a busy event loop that delays ticks
 * pings the slots it skipped at the next one, so each session is still
 * pinged once per interval.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  /** The sessions of each slot. */
  private readonly wheel: Set<Session>[];
  /** Absolute number (time / slotMs) of the last slot pinged. */
  private lastSlot = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly metrics: GatewayMetrics,
    private readonly options: {
      /** `native`: uWS pings idle sessions and finds dead peers; this pings stirred ones. Default `timer`. */
      mode?: HeartbeatMode;
      now?: () => number;
      /**
       * Called for a session whose socket still holds unsent bytes right after
       * its ping: the slow-consumer policy's once-per-interval safety net for
       * a backlog it was not told of (slow-consumer-policy.ts).
       */
      onBacklog?: (session: Session) => void;
    } = {},
  ) {
    const slots = Math.max(1, Math.floor(intervalMs / SLOT_MS));
    this.wheel = Array.from({ length: slots }, () => new Set<Session>());
  }

  private get slotMs(): number {
    return this.intervalMs / this.wheel.length;
  }

  private now(): number {
    return this.options.now?.() ?? performance.now();
  }

  private get native(): boolean {
    return this.options.mode === 'native';
  }

  private slotOf(session: Session): Set<Session> {
    return this.wheel[session.connId % this.wheel.length] as Set<Session>;
  }

  /** A session opened: pinged from now on, in its slot (with uWS's pings: by uWS, until it is stirred). */
  add(session: Session): void {
    if (!this.native) this.slotOf(session).add(session);
  }

  /** Sessions this timer pings (with uWS's pings: the stirred ones), for tests and the bench. */
  get size(): number {
    let n = 0;
    for (const slot of this.wheel) n += slot.size;
    return n;
  }

  /** Stops pinging `session` (it closed). */
  remove(session: Session): void {
    this.slotOf(session).delete(session);
  }

  /**
   * The client sent a frame (data or a ping) or uWS drained its backlog,
   * which holds uWS's idle ping back: with uWS's pings, this timer pings it
   * now and every interval until an interval passes without a stir. O(1);
   * nothing with the gateway's own timer (it pings every session anyway).
   */
  stir(session: Session): void {
    if (!this.native || session.closed || !session.ws) return;
    session.markStirred();
    const slot = this.slotOf(session);
    if (slot.has(session)) return;
    slot.add(session);
    session.takeStirred(); // the visits ask "stirred since the last ping"
    this.sendPing(session, session.ws);
    this.metrics.pingsSent.inc();
  }

  start(): void {
    if (this.timer) return;
    this.lastSlot = Math.floor(this.now() / this.slotMs);
    this.timer = setInterval(() => this.tick(), this.slotMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Marks a pong: the peer is alive. */
  static onPong(session: Session): void {
    session.awaitingPong = false;
  }

  private tick(): void {
    const slots = this.wheel.length;
    const current = Math.floor(this.now() / this.slotMs);
    const due = Math.min(slots, current - this.lastSlot); // slots that came due since the last tick
    if (due <= 0) return;
    const first = this.lastSlot + 1;
    this.lastSlot = current;
    let pings = 0;
    let dead = 0;
    for (let i = 0; i < due; i++) {
      // Closing a session (ws.close) removes it from this set while it is walked: Set iteration allows that.
      for (const session of this.wheel[(first + i) % slots] as Set<Session>) {
        const outcome = this.visit(session);
        if (outcome === PING) pings++;
        else if (outcome === DEAD) dead++;
      }
    }
    if (dead > 0) this.metrics.deadPeers.inc(dead);
    this.metrics.pingsSent.inc(pings);
  }

  private visit(session: Session): Visit {
    const ws = session.ws;
    if (session.closed || !ws) {
      this.slotOf(session).delete(session); // close removes it too; never kept for a closed socket
      return WAIT;
    }
    if (this.native) {
      this.sendPing(session, ws);
      if (!session.takeStirred()) this.slotOf(session).delete(session); // quiet for an interval: uWS's again
      return PING;
    }
    if (session.awaitingPong) {
      const backlog = ws.getBufferedAmount();
      const drained = session.takeDrainedSincePing() && session.outbox !== null;
      if (backlog < session.pingBacklog || drained) {
        session.pingBacklog = backlog; // still reading towards the ping (or just reached it)
        if (backlog > 0) this.options.onBacklog?.(session);
        return WAIT;
      }
      ws.close(); // no close handshake with a peer that does not answer
      return DEAD;
    }
    session.awaitingPong = true;
    this.sendPing(session, ws);
    return PING;
  }

  private sendPing(session: Session, ws: NonNullable<Session['ws']>): void {
    ws.ping();
    session.pingBacklog = ws.getBufferedAmount();
    session.takeDrainedSincePing();
    if (session.pingBacklog > 0) this.options.onBacklog?.(session);
  }
}

/** Who pings idle sessions: uWS in C++ (`native`, native-pings.ts) or this timer (`timer`). */
export type HeartbeatMode = 'native' | 'timer';

const WAIT = 0;
const PING = 1;
const DEAD = 2;
type Visit = typeof WAIT | typeof PING | typeof DEAD;
