/**
 * What a composition root reuses from the publisher: the ingest server and
 * its building blocks. `main.ts` (the publisher process) is an entry point,
 * not part of this API; the demo feed is `@hydra/demo-feed`, the `hydra` CLI `apps/cli`.
 */
export { createBearerCheck } from './bearer-auth.js';
export {
  ConfigError,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_PUBLISHER_PORT,
  type LogLevel,
  type PublisherConfig,
  parsePublisherConfig,
} from './config.js';
export { idempotencyKeyFor } from './idempotency.js';
export { type IngestBatchReply, type IngestOutcome, ingestBody } from './ingest.js';
export { createIngestServer, type IngestServer, type IngestServerOptions } from './ingest-server.js';
export { type CreateLoggerOptions, createLogger, type Logger } from './logger.js';
export { createIngestMetrics, createPublisherRegistry, type IngestMetrics } from './metrics.js';
