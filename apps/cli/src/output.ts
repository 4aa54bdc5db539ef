/** Where a command writes: stdout for results, stderr for diagnostics. */
export interface CliOutput {
  /** One JSON document on stdout (one line). */
  json(value: unknown): void;
  /** Human-readable text on stdout. */
  text(value: string): void;
  /** A diagnostic line on stderr. */
  error(message: string): void;
  /** One JSON document on stderr (one line): errors of a `--json` invocation. */
  errorJson(value: unknown): void;
}

export function streamOutput(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): CliOutput {
  return {
    json: (value) => stdout.write(`${JSON.stringify(value)}\n`),
    text: (value) => stdout.write(`${value}\n`),
    error: (message) => stderr.write(`${message}\n`),
    errorJson: (value) => stderr.write(`${JSON.stringify(value)}\n`),
  };
}
