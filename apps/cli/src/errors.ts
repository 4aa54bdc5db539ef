/** Exit codes of the `hydra` CLI (documented in `hydra --help`). */
export const ExitCode = Object.freeze({
  Ok: 0,
  /** The command ran but failed (e.g. no such key to revoke). */
  Failed: 1,
  /** Bad usage: unknown command or option, missing or invalid argument. */
  Usage: 2,
  /** The backplane (Redis) could not be reached or did not answer in time. */
  Unavailable: 3,
} as const);
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An expected failure: its message goes to stderr as is, and the process exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(ExitCode.Usage, message);
