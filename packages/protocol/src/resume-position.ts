import { isScope, type Scope } from './scopes.js';

/** Where a reconnecting client left off: the last `seq` it processed, per scope. */
export type ResumePositions = ReadonlyMap<Scope, number>;

export type ResumeParseResult = { ok: true; positions: ResumePositions } | { ok: false; reason: string };

/** At most one position per scope, so a resume value never needs more than this. */
export const MAX_RESUME_LENGTH = 256;

/**
 * Parses the `resume` query value: `<scope>:<seq>[,<scope>:<seq>…]`, seq a
 * non-negative integer. Empty means no resume. Each scope at most once.
 */
export function parseResumePositions(text: string): ResumeParseResult {
  const positions = new Map<Scope, number>();
  if (text === '') return { ok: true, positions };
  if (text.length > MAX_RESUME_LENGTH)
    return { ok: false, reason: `resume: longer than ${MAX_RESUME_LENGTH} characters` };
  for (const part of text.split(',')) {
    const match = /^([a-z]+):(\d{1,20})$/.exec(part.trim());
    if (!match) return { ok: false, reason: `resume: "${part.slice(0, 40)}" is not <scope>:<seq>` };
    const scope = match[1] as string;
    const seq = Number(match[2]);
    if (!isScope(scope)) return { ok: false, reason: `resume: unknown scope "${scope}"` };
    if (!Number.isSafeInteger(seq)) return { ok: false, reason: `resume: seq of ${scope} is too large` };
    if (positions.has(scope)) return { ok: false, reason: `resume: ${scope} given twice` };
    positions.set(scope, seq);
  }
  return { ok: true, positions };
}

export function formatResumePositions(positions: ResumePositions): string {
  return [...positions].map(([scope, seq]) => `${scope}:${seq}`).join(',');
}
