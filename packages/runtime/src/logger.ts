import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { stdoutDestination } from './log-destination.js';

export type { Logger } from 'pino';

/**
 * Field names that may hold a secret (API keys, ingest tokens, passwords in
 * a Redis URL's parts). Censored wherever they appear at the top level or one
 * level down (pino's redaction matches fixed depths), and in request headers.
 * Secrets are logged by field, never whole objects that carry them: this
 * list is the second line of defence, the same for every process.
 */
const SECRET_FIELDS = ['token', 'ingestToken', 'apiKey', 'key', 'authorization', 'password'];

export const REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
];

export interface CreateLoggerOptions {
  /** Bound on every line as `service` (e.g. `hydra-gateway`, `publisher`, `embedded`). */
  service: string;
  level: string;
  /**
   * Defaults to stdout through stdoutDestination() (survives a reader that
   * goes away); tests pass a stream to read what was logged.
   */
  destination?: DestinationStream;
}

/** A process's root logger; modules take `root.child({ component })`. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const config: LoggerOptions = {
    level: options.level,
    base: { service: options.service, pid: process.pid },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(config, options.destination ?? stdoutDestination());
}
