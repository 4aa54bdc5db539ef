import { isScope, type Scope } from './scopes.js';

/**
 * Where a reconnecting client left off in one scope: `seq`, the last event it
 * processed, and `ts`, that event's `ts` (a snapshot's `data.ts` when the
 * snapshot was the last thing it processed) or 0 when it has none. A
 * non-zero `ts` proves the position is in the stream's current sequence: a
 * gateway finding another event at `seq` (Redis lost events and assigned
 * their seqs anew) answers with a `resync` instead of replaying the wrong
 * events.
 */
export interface ResumePosition {
  seq: number;
  ts: number;
}

/** The positions of a resume, per scope. */
export type ResumePositions = ReadonlyMap<Scope, ResumePosition>;

export type ResumeParseResult = { ok: true; positions: ResumePositions } | { ok: false; reason: string };

/** At most one position per scope, so a resume value never needs more than this. */
export const MAX_RESUME_LENGTH = 256;

/**
 * Parses the `resume` query value: `<scope>:<seq>[:<ts>][,…]`, seq and ts
 * non-negative integers (ts 0 or absent: no proof). Empty means no resume.
 * Each scope at most once.
 */
export function parseResumePositions(text: string): ResumeParseResult {
  const positions = new Map<Scope, ResumePosition>();
  if (text === '') return { ok: true, positions };
  if (text.length > MAX_RESUME_LENGTH)
    return { ok: false, reason: `resume: longer than ${MAX_RESUME_LENGTH} characters` };
  for (const part of text.split(',')) {
    const match = /^([a-z]+):(\d{1,20})(?::(\d{1,20}))?$/.exec(part.trim());
    if (!match) return { ok: false, reason: `resume: "${part.slice(0, 40)}" is not <scope>:<seq>[:<ts>]` };
    const scope = match[1] as string;
    const seq = Number(match[2]);
    const ts = Number(match[3] ?? '0');
    if (!isScope(scope)) return { ok: false, reason: `resume: unknown scope "${scope}"` };
    if (!Number.isSafeInteger(seq)) return { ok: false, reason: `resume: seq of ${scope} is too large` };
    if (!Number.isSafeInteger(ts)) return { ok: false, reason: `resume: ts of ${scope} is too large` };
    if (positions.has(scope)) return { ok: false, reason: `resume: ${scope} given twice` };
    positions.set(scope, { seq, ts });
  }
  return { ok: true, positions };
}

/** The `resume` value for `positions`: `<scope>:<seq>:<ts>`, or `<scope>:<seq>` where ts is 0. */
export function formatResumePositions(positions: ResumePositions): string {
  return [...positions].map(([scope, { seq, ts }]) => (ts > 0 ? `${scope}:${seq}:${ts}` : `${scope}:${seq}`)).join(',');
}
