import { SCOPES } from '@hydra/protocol';
import type { HelpTopic } from './args.js';
import { EXIT_CODE_TABLE } from './exit-code.js';
import { DEFAULT_RATE_INTERVAL_MS, DEFAULT_TAIL_URL } from './tail/tail-args.js';

/*
 * Every help page has one shape: `Usage:` line, what the command does, its
 * commands or options (two-space indent, descriptions from column 27), the
 * environment it reads, and the one exit-code table of the CLI.
 */

/** `text` broken at spaces into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

export const EXIT_CODES_HELP = [
  'Exit codes (the same for every hydra command):',
  ...EXIT_CODE_TABLE.flatMap(({ code, meaning }) =>
    wrap(meaning, 73).map((line, i) => (i === 0 ? `  ${code}  ${line}` : `     ${line}`)),
  ),
  'With --json, an error is one JSON object on stderr: {"error":"…","exitCode":N}.',
].join('\n');

const KEYS_ENVIRONMENT = `Environment:
  HYDRA_REDIS_URL         Redis holding the key store; required by "hydra keys" (there is
                          no default). Keys live in Redis only: the in-memory backplane of
                          "pnpm start" without HYDRA_REDIS_URL exists inside that one
                          process, so this CLI cannot manage its keys: use the demo key
                          it prints at start. Or name a Sentinel or Cluster as the
                          gateways do: HYDRA_REDIS_SENTINELS + HYDRA_REDIS_SENTINEL_NAME,
                          or HYDRA_REDIS_CLUSTER_NODES (docs/configuration.md).`;

const TAIL_ENVIRONMENT = `Environment:
  HYDRA_API_KEY           the API key when --key is not given (keeps it off the command line)`;

const KEYS = `Usage: hydra keys <command> [options]

Manage the API keys clients use to connect to /v1/stream. Keys are stored
hashed (SHA-256); the plaintext key is shown once, at creation.

Commands:
  create --scopes LIST [--ttl SECONDS] [--name NAME] [--json]
                          create a key for the given scopes (comma-separated:
                          ${SCOPES.join(', ')})
  revoke <id|key> [--json] revoke a key by id or plaintext key; every gateway
                          closes its live connections (1008)
  list [--json]           list keys (id, name, scopes, created, expires, status);
                          never prints keys or hashes

Options:
  --json                  print one JSON document on stdout (create: an object
                          with id, key, name, scopes, createdAt, expiresAt)
  -h, --help              show help

${KEYS_ENVIRONMENT}

${EXIT_CODES_HELP}`;

const MAIN = `Usage: hydra <command> [options]

The Hydra stream admin CLI.

Commands:
  keys create|revoke|list manage API keys (see "hydra keys --help")
  tail --key K [--url U]  watch the stream in the terminal (see "hydra tail --help")

Options:
  -h, --help              show help

${KEYS_ENVIRONMENT}
  HYDRA_API_KEY           the key of "hydra tail" when --key is not given

${EXIT_CODES_HELP}`;

const CREATE = `Usage: hydra keys create --scopes LIST [--ttl SECONDS] [--name NAME] [--json]

Creates a key. The key is printed once and cannot be recovered later.

Options:
  --scopes LIST           comma-separated scopes the key grants:
                          ${SCOPES.join(', ')}
  --ttl SECONDS           lifetime in whole seconds (default: never expires)
  --name NAME             a label shown by "hydra keys list"
  --json                  print {"id","key","name","scopes","createdAt","expiresAt"}
  -h, --help              show help

${KEYS_ENVIRONMENT}

${EXIT_CODES_HELP}`;

const REVOKE = `Usage: hydra keys revoke <id|key> [--json]

Revokes a key by its id (from "hydra keys list") or by the key itself. Gateways
close the key's live connections with 1008. Revoking twice is harmless.

Options:
  --json                  print the revoked key's record as one JSON object
  -h, --help              show help

${KEYS_ENVIRONMENT}

${EXIT_CODES_HELP}`;

const LIST = `Usage: hydra keys list [--json]

Lists keys, newest first: id, name, scopes, created, expires, status
(valid, revoked or expired). Keys and hashes are never printed.

Options:
  --json                  print one JSON array
  -h, --help              show help

${KEYS_ENVIRONMENT}

${EXIT_CODES_HELP}`;

const TAIL = `Usage: hydra tail [--key KEY] [--url URL] [--scopes LIST] [--no-snapshot] [--no-compression]
                  [--conflate MS] [--bbox BOX]... [--json] [--rate-interval SECONDS]

Shows the Hydra stream in the terminal: one line per event, a summary line per
snapshot, and a per-scope rate line; each event once, in order, across
reconnects (@hydra/client: backoff with jitter, resume from the last event
shown). Stops on Ctrl-C.

Options:
  --key KEY               API key (default: $HYDRA_API_KEY), sent as the x-api-key header
  --url URL               stream URL (default: ${DEFAULT_TAIL_URL})
  --scopes LIST           only these scopes of the key, comma-separated (scopes=: the
                          server sends no other; one the key lacks ends tail):
                          ${SCOPES.join(', ')}
  --no-snapshot           skip the initial snapshot (snapshot=false)
  --bbox BOX              only the aircraft/vessels in this box, minLon,minLat,maxLon,maxLat
                          (degrees; repeat for several; minLon > maxLon crosses the antimeridian)
  --no-compression        do not offer permessage-deflate (offered by default; the
                          gateway compresses only if HYDRA_COMPRESSION allows)
  --conflate MS           aircraft and vessels: each changed entity's latest state once
                          per MS (1000, 5000 or 30000) instead of every event (conflate=MS)
  --json                  print each server message as one raw JSON line
  --rate-interval SECS    seconds between rate lines (default: ${DEFAULT_RATE_INTERVAL_MS / 1000}; 0 = off)
  -h, --help              show help

${TAIL_ENVIRONMENT}

${EXIT_CODES_HELP}`;

export const HELP: Readonly<Record<HelpTopic, string>> = Object.freeze({
  main: MAIN,
  keys: KEYS,
  'keys create': CREATE,
  'keys revoke': REVOKE,
  'keys list': LIST,
  tail: TAIL,
});
