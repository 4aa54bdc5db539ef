import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parseScopeList, SCOPES, type Scope } from '@hydra/protocol';
import { usageError } from './errors.js';

/** Longest accepted `--ttl`: 100 years. Omit `--ttl` for a key that never expires. */
export const MAX_TTL_SECONDS = 100 * 365 * 24 * 3600;
export const MAX_NAME_LENGTH = 200;

export interface KeysCreateArgs {
  command: 'create';
  scopes: Scope[];
  ttlSeconds: number | undefined;
  name: string | undefined;
  json: boolean;
}
export interface KeysRevokeArgs {
  command: 'revoke';
  idOrKey: string;
  json: boolean;
}
export interface KeysListArgs {
  command: 'list';
  json: boolean;
}
export type KeysArgs = KeysCreateArgs | KeysRevokeArgs | KeysListArgs;

/** What the command line asks for; `help` carries the topic whose help to print. */
export type CliRequest = { kind: 'help'; topic: HelpTopic } | { kind: 'keys'; args: KeysArgs };
export type HelpTopic = 'main' | 'keys' | 'keys create' | 'keys revoke' | 'keys list' | 'tail';

/**
 * Parses `hydra …` arguments (without `node` and the script). Throws a
 * usage CliError (exit 2) with a message naming what is wrong.
 */
export function parseCliArgs(argv: readonly string[]): CliRequest {
  const [command, ...rest] = argv;
  if (command === undefined) throw usageError('missing command');
  if (isHelp(command) || command === 'help') return { kind: 'help', topic: 'main' };
  if (command !== 'keys') throw usageError(`unknown command "${command}"`);

  const [sub, ...subArgs] = rest;
  if (sub === undefined) throw usageError('missing keys subcommand (create, revoke or list)');
  if (isHelp(sub) || sub === 'help') return { kind: 'help', topic: 'keys' };
  switch (sub) {
    case 'create':
      return subArgs.some(isHelp) ? { kind: 'help', topic: 'keys create' } : keys(parseCreate(subArgs));
    case 'revoke':
      return subArgs.some(isHelp) ? { kind: 'help', topic: 'keys revoke' } : keys(parseRevoke(subArgs));
    case 'list':
      return subArgs.some(isHelp) ? { kind: 'help', topic: 'keys list' } : keys(parseList(subArgs));
    default:
      throw usageError(`unknown keys subcommand "${sub}" (expected create, revoke or list)`);
  }
}

const keys = (args: KeysArgs): CliRequest => ({ kind: 'keys', args });
const isHelp = (arg: string) => arg === '--help' || arg === '-h';

function parseCreate(argv: string[]): KeysCreateArgs {
  const { values } = strictParse(argv, {
    scopes: { type: 'string' },
    ttl: { type: 'string' },
    name: { type: 'string' },
    json: { type: 'boolean' },
  });
  const scopesText = values['scopes'] as string | undefined;
  if (scopesText === undefined) throw usageError(`--scopes is required (any of ${SCOPES.join(', ')})`);
  const parsed = parseScopeList(scopesText);
  if (!parsed.ok) throw usageError(`unknown scope "${parsed.unknown}" (known scopes: ${SCOPES.join(', ')})`);
  if (parsed.scopes.length === 0) throw usageError(`--scopes needs at least one of ${SCOPES.join(', ')}`);
  return {
    command: 'create',
    scopes: parsed.scopes,
    ttlSeconds: parseTtl(values['ttl'] as string | undefined),
    name: parseName(values['name'] as string | undefined),
    json: values['json'] === true,
  };
}

function parseRevoke(argv: string[]): KeysRevokeArgs {
  const { values, positionals } = strictParse(argv, { json: { type: 'boolean' } }, true);
  const [target, ...extra] = positionals;
  if (target === undefined || target.trim() === '') throw usageError('keys revoke needs the id or the key to revoke');
  if (extra.length > 0) throw usageError(`keys revoke takes one id or key, got ${positionals.length} arguments`);
  return { command: 'revoke', idOrKey: target.trim(), json: values['json'] === true };
}

function parseList(argv: string[]): KeysListArgs {
  const { values } = strictParse(argv, { json: { type: 'boolean' } });
  return { command: 'list', json: values['json'] === true };
}

function parseTtl(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw usageError(`--ttl must be a whole number of seconds, got "${text}"`);
  const ttl = Number(text.trim());
  if (ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw usageError(`--ttl must be between 1 and ${MAX_TTL_SECONDS} seconds (omit it for a key that never expires)`);
  }
  return ttl;
}

function parseName(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const name = text.trim();
  if (name === '') throw usageError('--name must not be empty');
  if (name.length > MAX_NAME_LENGTH) throw usageError(`--name must be at most ${MAX_NAME_LENGTH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) throw usageError('--name must not contain control characters');
  return name;
}

/** node:util parseArgs in strict mode, with its errors turned into usage errors. */
function strictParse(argv: string[], options: NonNullable<ParseArgsConfig['options']>, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (err) {
    throw usageError(cleanParseArgsMessage((err as Error).message));
  }
}

/** parseArgs messages mention its API ("To specify a positional argument …"); keep the first sentence. */
function cleanParseArgsMessage(message: string): string {
  const first = message.split('. ')[0] ?? message;
  return first.replace(/\.$/, '');
}
