import { parseArgs } from 'node:util';
import {
  type ConflationTierMs,
  type GeoBox,
  parseConflation,
  parseRegion,
  parseScopeList,
  SCOPES,
  type Scope,
} from '@hydra/protocol';
import { usageError } from '../errors.js';

export const DEFAULT_TAIL_URL = 'ws://localhost:8080/v1/stream';
export const DEFAULT_RATE_INTERVAL_MS = 10_000;

/** What `hydra tail …` asks for, ready for runTail. */
export interface TailArgs {
  url: string;
  key: string;
  /** Only these scopes (asked of the server with `scopes=`, and filtered here); undefined: every scope the key grants. */
  scopes: Scope[] | undefined;
  snapshot: boolean;
  /** `--bbox` boxes (region filter of the entity scopes); empty: unfiltered. */
  bbox: GeoBox[];
  /** false: do not offer permessage-deflate (`--no-compression`). */
  compression: boolean;
  /** `--conflate MS`: the conflation tier of entity scopes (`conflate=MS`); 0 for every event. */
  conflateMs: ConflationTierMs | 0;
  json: boolean;
  /** Period of the per-scope rate line (ms); 0 turns it off. */
  rateIntervalMs: number;
}

export type TailRequest = { kind: 'help' } | { kind: 'tail'; args: TailArgs };

/**
 * Parses the arguments after `hydra tail`. The key falls back to
 * `env.HYDRA_API_KEY`. Throws a usage CliError (exit 2) naming what is wrong.
 */
export function parseTailArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): TailRequest {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: joinBoxValues(argv),
      strict: true,
      allowPositionals: false,
      options: {
        key: { type: 'string' },
        url: { type: 'string' },
        scopes: { type: 'string' },
        'no-snapshot': { type: 'boolean' },
        bbox: { type: 'string', multiple: true },
        'no-compression': { type: 'boolean' },
        conflate: { type: 'string' },
        json: { type: 'boolean' },
        'rate-interval': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // parseArgs explains its own API after the first sentence ("To specify a positional argument…").
    const first = (err as Error).message.split('. ')[0] ?? (err as Error).message;
    throw usageError(first.replace(/\.$/, ''));
  }
  if (values['help'] === true) return { kind: 'help' };

  const key = (values['key'] as string | undefined) ?? env['HYDRA_API_KEY'];
  if (key === undefined || key.trim() === '') throw usageError('missing --key (or set HYDRA_API_KEY)');

  return {
    kind: 'tail',
    args: {
      url: parseUrl((values['url'] as string | undefined) ?? DEFAULT_TAIL_URL),
      key: key.trim(),
      scopes: parseScopes(values['scopes'] as string | undefined),
      snapshot: values['no-snapshot'] !== true,
      bbox: parseBoxes(values['bbox'] as string[] | undefined),
      compression: values['no-compression'] !== true,
      conflateMs: parseConflate(values['conflate'] as string | undefined),
      json: values['json'] === true,
      rateIntervalMs: parseRateInterval(values['rate-interval'] as string | undefined),
    },
  };
}

function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`--url must be a ws:// or wss:// URL, got "${text}"`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw usageError(`--url must be a ws:// or wss:// URL, got "${text}"`);
  }
  return url.toString();
}

function parseScopes(text: string | undefined): Scope[] | undefined {
  if (text === undefined) return undefined;
  const parsed = parseScopeList(text);
  if (!parsed.ok) throw usageError(`unknown scope "${parsed.unknown}" (known scopes: ${SCOPES.join(', ')})`);
  if (parsed.scopes.length === 0) throw usageError(`--scopes needs at least one of ${SCOPES.join(', ')}`);
  return parsed.scopes;
}

function parseConflate(text: string | undefined): ConflationTierMs | 0 {
  if (text === undefined) return 0;
  const parsed = parseConflation(text.trim());
  if (!parsed.ok || parsed.tierMs === 0) {
    throw usageError(`--conflate must be one of 1000, 5000, 30000 (milliseconds), got "${text}"`);
  }
  return parsed.tierMs;
}

/**
 * `--bbox -10,50,10,60` as `--bbox=-10,50,10,60`: parseArgs takes a value
 * starting with `-` for an option, and west longitudes are negative.
 */
function joinBoxValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (arg === '--bbox' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`--bbox=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** `--bbox` values, checked as the gateway checks them (the same messages, naming `--bbox`). */
function parseBoxes(values: string[] | undefined): GeoBox[] {
  if (values === undefined) return [];
  const parsed = parseRegion(values);
  if (!parsed.ok) throw usageError(`--${parsed.reason}`);
  return [...parsed.region.boxes];
}

function parseRateInterval(text: string | undefined): number {
  if (text === undefined) return DEFAULT_RATE_INTERVAL_MS;
  const seconds = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > 86_400) {
    throw usageError(`--rate-interval must be a number of seconds between 0 and 86400, got "${text}"`);
  }
  return Math.round(seconds * 1000);
}
