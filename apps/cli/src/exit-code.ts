/**
 * Exit codes of the `hydra` CLI: one table for every command. Each help page
 * prints it (help.ts) and the README's CLI section lists it; a test holds both
 * to this table. A code keeps its meaning across commands; a command that has
 * no use for a code never exits with it.
 */
export const ExitCode = Object.freeze({
  Ok: 0,
  Failed: 1,
  Usage: 2,
  Unauthorized: 3,
  TooManyConnections: 4,
  Unavailable: 5,
} as const);
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ExitCodeRow {
  code: ExitCode;
  /** One line, as help and the README show it. */
  meaning: string;
}

export const EXIT_CODE_TABLE: readonly ExitCodeRow[] = Object.freeze([
  { code: ExitCode.Ok, meaning: 'success (tail: stopped by Ctrl-C, or its reader went away)' },
  {
    code: ExitCode.Failed,
    meaning: 'failed (keys: no such key to revoke; tail: the server ended the stream for good)',
  },
  {
    code: ExitCode.Usage,
    meaning:
      'bad usage: unknown command or option, missing or invalid argument, HYDRA_REDIS_URL unset or invalid ' +
      '(tail: the URL answered HTTP 404)',
  },
  {
    code: ExitCode.Unauthorized,
    meaning:
      'unauthorized (tail: the API key was refused, close 1008 or HTTP 401/403; keys: Redis refused the ' +
      'credentials of HYDRA_REDIS_URL)',
  },
  { code: ExitCode.TooManyConnections, meaning: 'too many connections (tail: this IP is at its limit, HTTP 429)' },
  { code: ExitCode.Unavailable, meaning: 'unavailable (keys: Redis unreachable or not answering in time)' },
]);
