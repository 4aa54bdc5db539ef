import { SCOPES } from '@hydra/protocol';
import type { HelpTopic } from './args.js';

const EXIT_CODES = `Exit codes:
  0  success
  1  the command failed (e.g. no such key to revoke)
  2  bad usage: unknown command or option, missing or invalid argument,
     HYDRA_REDIS_URL unset or invalid
  3  Redis unreachable or not answering
With --json, an error is one JSON object on stderr: {"error":"…","exitCode":N}.`;

const ENVIRONMENT = `Environment:
  HYDRA_REDIS_URL  Redis holding the key store; required by "hydra keys" (there is
                   no default). Keys live in Redis only: the in-memory backplane of
                   "pnpm start" without HYDRA_REDIS_URL exists inside that one
                   process, so this CLI cannot manage its keys: use the demo key
                   it prints at start. Or name a Sentinel or Cluster as the
                   gateways do: HYDRA_REDIS_SENTINELS + HYDRA_REDIS_SENTINEL_NAME,
                   or HYDRA_REDIS_CLUSTER_NODES (docs/configuration.md).`;

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

${ENVIRONMENT}

${EXIT_CODES}`;

const MAIN = `Usage: hydra <command> [options]

The Hydra stream admin CLI.

Commands:
  keys create|revoke|list  manage API keys (see "hydra keys --help")
  tail --key K [--url U]   watch the stream in the terminal (see "hydra tail --help")

Options:
  -h, --help               show help

${ENVIRONMENT}

${EXIT_CODES}`;

const CREATE = `Usage: hydra keys create --scopes LIST [--ttl SECONDS] [--name NAME] [--json]

  --scopes LIST     comma-separated scopes the key grants: ${SCOPES.join(', ')}
  --ttl SECONDS     lifetime in whole seconds (default: never expires)
  --name NAME       a label shown by "hydra keys list"
  --json            print {"id","key","name","scopes","createdAt","expiresAt"}

The key is printed once and cannot be recovered later.

${EXIT_CODES}`;

const REVOKE = `Usage: hydra keys revoke <id|key> [--json]

Revokes a key by its id (from "hydra keys list") or by the key itself. Gateways
close the key's live connections with 1008. Revoking twice is harmless.

${EXIT_CODES}`;

const LIST = `Usage: hydra keys list [--json]

Lists keys, newest first: id, name, scopes, created, expires, status
(valid, revoked or expired). Keys and hashes are never printed.

${EXIT_CODES}`;

export const HELP: Readonly<Record<HelpTopic, string>> = Object.freeze({
  main: MAIN,
  keys: KEYS,
  'keys create': CREATE,
  'keys revoke': REVOKE,
  'keys list': LIST,
});
