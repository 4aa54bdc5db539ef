import { type FrameEntity, frameEntity, frameSeq } from '@hydra/protocol';

/** One event frame and its seq. */
export interface SeqFrame {
  seq: number;
  frame: Buffer;
}

/** What the buffer holds for one entity: its latest event, and a removal that an upsert followed. */
interface Pending extends SeqFrame {
  /** The entity's latest removal when a later upsert brought it back: kept, never dropped. */
  removal: SeqFrame | null;
  removed: boolean;
}

/**
 * The latest event of each entity of one scope since the last take(): the
 * conflation of a stretch of a scope's events (pure; no I/O, no clock).
 *
 * Guarantees, for events added in seq order:
 * - take() returns, in increasing seq order, each changed entity's latest
 *   event frame, byte for byte as added; so applying them to the state at
 *   the stretch's start gives exactly the state at its end.
 * - Removals are never dropped: an entity whose latest event is a removal
 *   gets that removal; one removed and then upserted again within the
 *   stretch gets its latest removal, then its latest upsert.
 * - Frames that are not entity events (no `data.id`) are kept as they are,
 *   each on its own (never merged): nothing is lost.
 *
 * Memory: one entry per distinct entity changed since the last take().
 */
export class ConflationBuffer {
  private pending = new Map<string, Pending>();
  /** Frames with no entity id (not expected on an entity scope), kept in order. */
  private loose: SeqFrame[] = [];

  /** Entities (plus loose frames) that take() would return. */
  get size(): number {
    return this.pending.size + this.loose.length;
  }

  /** Adds event `seq` (`entity` read from the frame when not given: frameEntity). */
  add(seq: number, frame: Buffer, entity: FrameEntity | null = frameEntity(frame)): void {
    if (entity === null) {
      this.loose.push({ seq, frame });
      return;
    }
    const before = this.pending.get(entity.id);
    let removal: SeqFrame | null = null;
    if (before !== undefined) {
      if (!entity.removed) removal = before.removed ? { seq: before.seq, frame: before.frame } : before.removal;
      // Re-inserted at the end: the map stays in the order of each entity's latest seq.
      this.pending.delete(entity.id);
    }
    this.pending.set(entity.id, { seq, frame, removal, removed: entity.removed });
  }

  /** The conflated events in increasing seq order, emptying the buffer. */
  take(): SeqFrame[] {
    const out: SeqFrame[] = [];
    let ordered = this.loose.length === 0;
    for (const p of this.pending.values()) {
      if (p.removal !== null) {
        out.push(p.removal);
        ordered = false;
      }
      out.push({ seq: p.seq, frame: p.frame });
    }
    for (const f of this.loose) out.push(f);
    if (!ordered) out.sort((a, b) => a.seq - b.seq);
    this.pending = new Map();
    this.loose = [];
    return out;
  }

  /** Empties the buffer. */
  clear(): void {
    this.pending = new Map();
    this.loose = [];
  }
}

/** The conflation of consecutive event frames of one scope (each frame's seq read from it), in seq order. */
export function conflateFrames(frames: Iterable<Buffer>): Buffer[] {
  const buffer = new ConflationBuffer();
  for (const frame of frames) buffer.add(frameSeq(frame), frame);
  return buffer.take().map((f) => f.frame);
}
