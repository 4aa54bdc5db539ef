/** Exit codes of `hydra tail` (also in its help text). */
export const TailExitCode = Object.freeze({
  /** Stopped by the user (Ctrl-C) or its output closed. */
  Ok: 0,
  /** The server ended the stream for good (a terminal close code, an unexpected HTTP status). */
  Failed: 1,
  /** Bad usage, or the URL answered HTTP 404. */
  Usage: 2,
  /** Close 1008 (or HTTP 401/403): the key is missing, unknown, revoked or expired. */
  Unauthorized: 3,
  /** HTTP 429: this IP already has its maximum of concurrent connections. */
  TooManyConnections: 4,
} as const);
export type TailExitCode = (typeof TailExitCode)[keyof typeof TailExitCode];
