import type { ResumePosition, Scope } from '@hydra/protocol';

/** What a live event's `seq` says about continuity. */
export type SeqCheck =
  | { kind: 'ok' }
  /** Events `expected` … `got - 1` of the scope never arrived. */
  | { kind: 'gap'; expected: number; got: number; missed: number }
  /** Not above the last seen seq: a duplicate, or the stream restarted its numbering. */
  | { kind: 'backwards'; last: number; got: number };

/**
 * Checks the protocol's guarantee that `seq` grows by exactly 1 per event
 * within a scope, from the snapshot's `seq` on, and remembers the last seq
 * processed per scope with its `ts` (the position's proof): the `resume`
 * position of the next connection.
 *
 * Tracking of a scope starts at its snapshot, or at its first live event
 * when there is none. A resumed connection continues where the previous one
 * stopped, so events lost in between do show as a gap.
 */
export class SeqTracker {
  readonly #last = new Map<Scope, ResumePosition>();

  /** Forgets every scope (a connection that does not resume). */
  reset(): void {
    this.#last.clear();
  }

  /** Forgets one scope (a `resync`: a fresh snapshot follows). */
  forget(scope: Scope): void {
    this.#last.delete(scope);
  }

  /** The snapshot of `scope` is at `seq` (`ts`: its data.ts, 0 if none): the next live event must be `seq + 1`. */
  baseline(scope: Scope, seq: number, ts: number): void {
    this.#last.set(scope, { seq, ts });
  }

  /** The last seq processed per scope, with its ts. */
  positions(): ReadonlyMap<Scope, ResumePosition> {
    return new Map(this.#last);
  }

  observe(scope: Scope, seq: number, ts: number): SeqCheck {
    const last = this.#last.get(scope)?.seq;
    if (last === undefined || seq === last + 1) {
      this.#last.set(scope, { seq, ts });
      return { kind: 'ok' };
    }
    if (seq <= last) {
      if (seq < last) this.#last.set(scope, { seq, ts });
      return { kind: 'backwards', last, got: seq };
    }
    this.#last.set(scope, { seq, ts });
    return { kind: 'gap', expected: last + 1, got: seq, missed: seq - last - 1 };
  }
}
