import { type Logger, pino } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/**
 * The root logger. API keys never reach it: request data is logged by field,
 * never whole, and these paths are redacted as a second line of defence.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'hydra-gateway' },
    redact: {
      paths: ['apiKey', 'key', '*.apiKey', '*.key', 'headers["x-api-key"]', 'token', '*.token'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
