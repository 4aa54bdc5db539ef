import type { KeyStore } from '@hydra/backplane';
import { ConfigError, readRedisUrl } from '@hydra/config';
import { type KeysArgs, parseCliArgs } from './args.js';
import { CliError, ExitCode } from './errors.js';
import { HELP } from './help.js';
import { keysCreate } from './keys-create.js';
import { keysList } from './keys-list.js';
import { keysRevoke } from './keys-revoke.js';
import { DEFAULT_CLI_REDIS_URL, openBackplane, withBackplane } from './open-backplane.js';
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
  try {
    const request = parseCliArgs(argv);
    if (request.kind === 'help') {
      out.text(HELP[request.topic]);
      return ExitCode.Ok;
    }
    await runKeys(request.args, ctx);
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CliError) {
      out.error(`hydra: ${err.message}`);
      if (err.exitCode === ExitCode.Usage) out.error('Run "hydra --help" for usage.');
      return err.exitCode;
    }
    out.error(`hydra: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
    return ExitCode.Failed;
  }
}

async function runKeys(args: KeysArgs, ctx: CliContext): Promise<void> {
  let url: string;
  try {
    url = readRedisUrl(ctx.env, 'HYDRA_REDIS_URL') ?? DEFAULT_CLI_REDIS_URL;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(ExitCode.Usage, err.message);
    throw err;
  }
  const timeoutMs = ctx.timeoutMs ?? 4000;
  const backplane = await openBackplane({ url, timeoutMs });
  try {
    await withBackplane(backplane, url, timeoutMs, () => dispatch(backplane.keys, args, ctx.out));
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
