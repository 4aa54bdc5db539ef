import { createLogger as createProcessLogger, type Logger } from '@hydra/runtime';
import type { DestinationStream } from 'pino';

export type { Logger };

export interface CreateLoggerOptions {
  level: string;
  /** Defaults to stdout; tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

/** The publisher's root logger: @hydra/runtime's, with its one redaction list. */
export function createLogger(options: CreateLoggerOptions): Logger {
  return createProcessLogger({ service: 'publisher', ...options });
}
