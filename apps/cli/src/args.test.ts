import { describe, expect, it } from 'vitest';
import { MAX_TTL_SECONDS, parseCliArgs } from './args.js';
import { CliError } from './errors.js';

function usage(argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return (err as CliError).message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseCliArgs', () => {
  it('parses keys create with every option', () => {
    expect(
      parseCliArgs(['keys', 'create', '--scopes', 'aircraft, signals', '--ttl', '3600', '--name', ' ops ', '--json']),
    ).toEqual({
      kind: 'keys',
      args: { command: 'create', scopes: ['signals', 'aircraft'], ttlSeconds: 3600, name: 'ops', json: true },
    });
  });

  it('accepts --opt=value and defaults the optional ones', () => {
    expect(parseCliArgs(['keys', 'create', '--scopes=cyber'])).toEqual({
      kind: 'keys',
      args: { command: 'create', scopes: ['cyber'], ttlSeconds: undefined, name: undefined, json: false },
    });
  });

  it('parses revoke and list', () => {
    expect(parseCliArgs(['keys', 'revoke', 'abc', '--json'])).toEqual({
      kind: 'keys',
      args: { command: 'revoke', idOrKey: 'abc', json: true },
    });
    expect(parseCliArgs(['keys', 'list'])).toEqual({ kind: 'keys', args: { command: 'list', json: false } });
  });

  it.each([
    [['--help'], 'main'],
    [['-h'], 'main'],
    [['help'], 'main'],
    [['keys', '--help'], 'keys'],
    [['keys', 'create', '--help'], 'keys create'],
    [['keys', 'revoke', '-h'], 'keys revoke'],
    [['keys', 'list', '--help'], 'keys list'],
  ])('%j asks for help on %s', (argv, topic) => {
    expect(parseCliArgs(argv)).toEqual({ kind: 'help', topic });
  });

  it.each([
    [[], /missing command/],
    [['nope'], /unknown command "nope"/],
    [['keys'], /missing keys subcommand/],
    [['keys', 'rotate'], /unknown keys subcommand "rotate"/],
    [['keys', 'create'], /--scopes is required/],
    [['keys', 'create', '--scopes', 'signals,planes'], /unknown scope "planes"/],
    [['keys', 'create', '--scopes', ','], /at least one/],
    [['keys', 'create', '--scopes'], /argument missing/],
    [['keys', 'create', '--scopes', 'signals', '--ttl', '0'], /--ttl must be between 1/],
    [['keys', 'create', '--scopes', 'signals', '--ttl', '1.5'], /--ttl must be a whole number/],
    [['keys', 'create', '--scopes', 'signals', '--ttl', 'soon'], /--ttl must be a whole number/],
    [['keys', 'create', '--scopes', 'signals', '--ttl', String(MAX_TTL_SECONDS + 1)], /--ttl must be between/],
    [['keys', 'create', '--scopes', 'signals', '--name', '  '], /--name must not be empty/],
    [['keys', 'create', '--scopes', 'signals', '--colour', 'red'], /Unknown option '--colour'/],
    [['keys', 'create', '--scopes', 'signals', 'extra'], /Unexpected argument 'extra'/],
    [['keys', 'revoke'], /needs the id or the key/],
    [['keys', 'revoke', 'a', 'b'], /takes one id or key/],
    [['keys', 'list', '--all'], /Unknown option '--all'/],
  ])('%j is a usage error', (argv, message) => {
    expect(usage(argv)).toMatch(message);
  });
});
