import { parseTailArgs, runTail, TAIL_HELP, TailUsageError } from './tail/index.js';

/**
 * `hydra tail …`: a terminal client of the stream. Ctrl-C ends it with 0;
 * see TAIL_HELP for the other exit codes (3 on 1008, 4 on 429).
 */
export async function tailCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  let request: ReturnType<typeof parseTailArgs>;
  try {
    request = parseTailArgs([...argv], env);
  } catch (err) {
    if (err instanceof TailUsageError) {
      process.stderr.write(`hydra tail: ${err.message}\nRun "hydra tail --help" for usage.\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (request.kind === 'help') {
    process.stdout.write(`${TAIL_HELP}\n`);
    return 0;
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
