/*
 * Conflation tiers (`conflate=<ms>` in the /v1/stream query): an entity
 * scope's client receives, once per tier interval, the latest state of each
 * entity that changed in it (removals included), instead of every event.
 * Each conflated event is the entity's latest event frame itself, byte for
 * byte, so it carries that event's `seq` and `ts`: seqs keep increasing
 * (not by 1), a resume position is an ordinary one, and its ts proves it.
 * Log scopes are never conflated.
 */

/** The tiers a client may ask for, in milliseconds: a fixed set, so each is one uWS topic per scope. */
export const CONFLATION_TIERS_MS = [1000, 5000, 30000] as const;
export type ConflationTierMs = (typeof CONFLATION_TIERS_MS)[number];

export type ConflationParseResult = { ok: true; tierMs: ConflationTierMs | 0 } | { ok: false; reason: string };

/** The longest part of a refused value quoted back in the reason. */
const QUOTED_CHARS = 32;

/**
 * Parses the `conflate` query value: empty (absent) means none (0), else one
 * of CONFLATION_TIERS_MS written as a plain integer. Anything else is refused
 * with a reason that names the option (the gateway sends it in an `error`
 * before closing with 4002).
 */
export function parseConflation(text: string): ConflationParseResult {
  if (text === '') return { ok: true, tierMs: 0 };
  const tier = CONFLATION_TIERS_MS.find((ms) => String(ms) === text);
  if (tier !== undefined) return { ok: true, tierMs: tier };
  return {
    ok: false,
    reason: `conflate: must be one of ${CONFLATION_TIERS_MS.join(', ')} (milliseconds), got ${JSON.stringify(text.slice(0, QUOTED_CHARS))}`,
  };
}
