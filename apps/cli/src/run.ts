import type { KeyStore } from '@hydra/backplane';
import { ConfigError, type RedisTarget, readRedisTarget } from '@hydra/config';
import { type KeysArgs, parseCliArgs } from './args.js';
import { CliError, failureText } from './errors.js';
import { ExitCode } from './exit-code.js';
import { HELP } from './help.js';
import { keysCreate } from './keys-create.js';
import { keysList } from './keys-list.js';
import { keysRevoke } from './keys-revoke.js';
import { openBackplane, withBackplane } from './open-backplane.js';
import type { CliOutput } from './output.js';

export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  out: CliOutput;
  /** Deadline for reaching Redis and for each command (default 4 s). */
  timeoutMs?: number;
}

/** Runs one `hydra …` invocation and returns its exit code. Never throws. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<ExitCode> {
  const { out } = ctx;
  // Known before parsing, so that a usage error of a `--json` invocation is JSON too.
  const json = argv.includes('--json');
  try {
    const request = parseCliArgs(argv);
    if (request.kind === 'help') {
      out.text(HELP[request.topic]);
      return ExitCode.Ok;
    }
    await runKeys(request.args, ctx);
    return ExitCode.Ok;
  } catch (err) {
    const failure =
      err instanceof CliError
        ? err
        : new CliError(ExitCode.Failed, `unexpected error: ${err instanceof Error ? err.message : String(err)}`);
    out.error(failureText(failure, { json, helpCommand: 'hydra' }));
    return failure.exitCode;
  }
}

/**
 * Why `hydra keys` has no default Redis: without HYDRA_REDIS_URL the likely
 * setup is `pnpm start` on the in-memory backplane, whose keys exist inside
 * that process only; a default URL would manage some other store and "succeed".
 */
export const NO_REDIS_URL_MESSAGE =
  'HYDRA_REDIS_URL is not set. "hydra keys" manages the key store in Redis: set HYDRA_REDIS_URL ' +
  'to the Redis your gateways use. A "pnpm start" without HYDRA_REDIS_URL runs on the in-memory ' +
  'backplane, whose keys live inside that process only: use the demo key it prints.';

async function runKeys(args: KeysArgs, ctx: CliContext): Promise<void> {
  let target: RedisTarget;
  try {
    const configured = readRedisTarget(ctx.env);
    if (configured === undefined) throw new CliError(ExitCode.Usage, NO_REDIS_URL_MESSAGE);
    target = configured;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(ExitCode.Usage, err.message);
    throw err;
  }
  const timeoutMs = ctx.timeoutMs ?? 4000;
  const backplane = await openBackplane({ target, timeoutMs });
  try {
    await withBackplane(backplane, target, timeoutMs, () => dispatch(backplane.keys, args, ctx.out));
  } finally {
    await backplane.close().catch(() => {});
  }
}

function dispatch(store: KeyStore, args: KeysArgs, out: CliOutput): Promise<void> {
  switch (args.command) {
    case 'create':
      return keysCreate(store, args, out);
    case 'revoke':
      return keysRevoke(store, args, out);
    case 'list':
      return keysList(store, args, out);
  }
}
