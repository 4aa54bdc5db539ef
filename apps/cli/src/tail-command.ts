import { CliError, failureText } from './errors.js';
import { ExitCode } from './exit-code.js';
import { HELP } from './help.js';
import { parseTailArgs, runTail } from './tail/index.js';

/**
 * `hydra tail …`: a terminal client of the stream. Ctrl-C ends it with 0;
 * the other exit codes are the CLI's one table (exit-code.ts).
 */
export async function tailCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<ExitCode> {
  let request: ReturnType<typeof parseTailArgs>;
  try {
    request = parseTailArgs([...argv], env);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(failureText(err, { json: argv.includes('--json'), helpCommand: 'hydra tail' }));
    return err.exitCode;
  }
  if (request.kind === 'help') {
    process.stdout.write(`${HELP.tail}\n`);
    return ExitCode.Ok;
  }
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runTail({
      ...request.args,
      out: process.stdout,
      err: process.stderr,
      isTTY: process.stdout.isTTY === true,
      signal: abort.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
