import { createLogger as createProcessLogger, type Logger } from '@hydra/runtime';
import type { DestinationStream } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/**
 * The gateway's root logger: @hydra/runtime's, with its one redaction list
 * (API keys never reach it: request data is logged by field, never whole).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return createProcessLogger({ service: 'hydra-gateway', level, ...(destination ? { destination } : {}) });
}
