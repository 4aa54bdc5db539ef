/** Where a command writes: stdout for results, stderr for diagnostics. */
export interface CliOutput {
  /** One JSON document on stdout (one line). */
  json(value: unknown): void;
  /** Human-readable text on stdout. */
  text(value: string): void;
  /** Diagnostic text on stderr, written as is (failureText ends its lines). */
  error(text: string): void;
}

export function streamOutput(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): CliOutput {
  return {
    json: (value) => stdout.write(`${JSON.stringify(value)}\n`),
    text: (value) => stdout.write(`${value}\n`),
    error: (text) => stderr.write(text),
  };
}
