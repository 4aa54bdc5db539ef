export * from './process-metrics.js';
export * from './redis-client-metrics.js';
