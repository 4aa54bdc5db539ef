import { ExitCode } from './exit-code.js';

/** An expected failure: reported in the CLI's one error style (failureText), then the process exits with `exitCode`. */
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

export interface FailureStyle {
  /** The invocation asked for --json: the error is one JSON object. */
  json: boolean;
  /** The command whose `--help` a usage error points to (`hydra`, `hydra tail`). */
  helpCommand: string;
}

/**
 * The one error style of every `hydra` command, written to stderr:
 * `hydra: <message>` (followed, for bad usage, by where the help is), or with
 * --json one line `{"error":"<message>","exitCode":N}`. Messages never carry a
 * key, a token or a password.
 */
export function failureText(failure: CliError, style: FailureStyle): string {
  if (style.json) return `${JSON.stringify({ error: failure.message, exitCode: failure.exitCode })}\n`;
  const hint = failure.exitCode === ExitCode.Usage ? `Run "${style.helpCommand} --help" for usage.\n` : '';
  return `hydra: ${failure.message}\n${hint}`;
}
