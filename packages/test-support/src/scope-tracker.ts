import type { ReceivedMessage } from './stream-client.js';

/**
 * What a well-behaved client knows about the stream, per scope: the seq it
 * processed last with its ts (the position it would resume from, with its
 * proof) and every seq it saw, so a test can assert "no gap, no duplicate,
 * in order" across reconnects.
 */
export class ScopeTracker {
  /** Last processed seq per scope (from a complete snapshot, a replayed or a live event). */
  readonly last = new Map<string, number>();
  /** The ts of that last event (a snapshot's data.ts): the resume position's proof; 0 when unknown. */
  readonly lastTs = new Map<string, number>();
  /** Seqs of live/replayed events per scope, in arrival order. */
  readonly seen = new Map<string, number[]>();
  /** Seq of the first snapshot per scope. */
  readonly firstSnapshot = new Map<string, number>();
  readonly resyncs: { scope: string; reason: string }[] = [];
  readonly problems: string[] = [];

  /** Feeds one message; records a problem on any gap, duplicate or reordering. */
  apply(message: ReceivedMessage): void {
    if (message.type === 'snapshot') {
      const data = message.data as { scope: string; seq: number; ts?: number; complete?: boolean };
      if (data.complete === false) return;
      if (!this.firstSnapshot.has(data.scope)) this.firstSnapshot.set(data.scope, data.seq);
      this.last.set(data.scope, data.seq);
      this.lastTs.set(data.scope, data.ts ?? 0);
      return;
    }
    if (message.type === 'resync') {
      const data = message.data as { scope: string; reason: string };
      this.resyncs.push(data);
      this.last.delete(data.scope);
      return;
    }
    if (typeof message.seq !== 'number') return;
    const scope = message.type;
    const previous = this.last.get(scope);
    if (previous !== undefined && message.seq !== previous + 1) {
      this.problems.push(`${scope}: got seq ${message.seq} after ${previous}`);
    }
    this.last.set(scope, message.seq);
    this.lastTs.set(scope, typeof message.ts === 'number' ? message.ts : 0);
    let list = this.seen.get(scope);
    if (!list) {
      list = [];
      this.seen.set(scope, list);
    }
    list.push(message.seq);
  }

  /** The `resume` query value for a reconnect: `<scope>:<seq>:<ts>` (`<scope>:<seq>` when no ts is known). */
  resumeParam(): string {
    return [...this.last]
      .map(([scope, seq]) => {
        const ts = this.lastTs.get(scope) ?? 0;
        return ts > 0 ? `${scope}:${seq}:${ts}` : `${scope}:${seq}`;
      })
      .join(',');
  }
}
