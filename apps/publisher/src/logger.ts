import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Field names that may hold a secret. Censored wherever they appear at the
 * top level or one level down (pino's redaction matches fixed depths), and
 * in request headers.
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
  level: string;
  /** Defaults to stdout; tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  /** Bound on every line, e.g. `{ service: 'publisher' }`. */
  base?: Record<string, unknown>;
}

/** The process's root logger; modules take `root.child({ component })`. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const config: LoggerOptions = {
    level: options.level,
    base: { pid: process.pid, ...options.base },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}
