/** What a client asks for in the `/v1/stream` query string. */
export interface StreamQuery {
  apiKey: string;
  /** false only for `snapshot=false` (also `0`, `no`); any other value keeps the snapshot. */
  snapshot: boolean;
  /** The raw `resume` value (`scope:seq,…`), parsed by the protocol package. */
  resume: string;
  /** true only for `heartbeat=true` (also `1`, `yes`): a `heartbeat` message every ping interval (heartbeat-topic.ts). */
  heartbeat: boolean;
  /** Every `bbox` value, in order (the one parameter that may repeat: one box each); empty when absent. */
  bbox: string[];
  /** The raw `scopes` value (a subset of the key's scopes: scope-narrowing.ts); null when the option is absent. */
  scopes: string | null;
  /** The raw `conflate` value (`1000`, `5000`, `30000`), parsed by the protocol package (parseConflation). */
  conflate: string;
}

/** Longest query string the gateway parses; longer ones are refused as a bad request. */
export const MAX_QUERY_LENGTH = 4096;

/**
 * Parses the raw query string. Repeated parameters: the first wins (except `bbox`, one box each). Never
 * throws (malformed percent-escapes are read as-is by URLSearchParams).
 */
export function parseStreamQuery(raw: string): StreamQuery | null {
  if (raw.length > MAX_QUERY_LENGTH) return null;
  const params = new URLSearchParams(raw);
  const snapshotText = (params.get('snapshot') ?? '').toLowerCase();
  return {
    apiKey: params.get('apiKey') ?? '',
    snapshot: !(snapshotText === 'false' || snapshotText === '0' || snapshotText === 'no'),
    resume: params.get('resume') ?? '',
    heartbeat: isYes(params.get('heartbeat')),
    bbox: params.getAll('bbox'),
    scopes: params.get('scopes'),
    conflate: params.get('conflate') ?? '',
  };
}

function isYes(text: string | null): boolean {
  const value = (text ?? '').toLowerCase();
  return value === 'true' || value === '1' || value === 'yes';
}
