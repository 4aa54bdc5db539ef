/**
 * Keeps a write to a closed stdout or stderr (EPIPE: the reader of
 * `… | cat` or `| pino-pretty` is gone) from ending the process with an
 * unhandled 'error' event: such output is dropped. Call once at start, in
 * every process that writes to process.stdout or process.stderr (banners,
 * CLI output, console.error). `onBroken` hears of the first error on each
 * stream (a CLI may then stop early; a server keeps serving).
 */
export function guardStdio(onBroken?: (stream: 'stdout' | 'stderr', error: NodeJS.ErrnoException) => void): void {
  for (const [name, stream] of [
    ['stdout', process.stdout],
    ['stderr', process.stderr],
  ] as const) {
    let told = false;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (told) return;
      told = true;
      onBroken?.(name, error);
    });
  }
}
