export * from '@hydra/stream-client';
export * from './external-tools.js';
export * from './free-port.js';
export * from './redis-cluster.js';
export * from './redis-sentinel.js';
export * from './redis-server.js';
export * from './scope-tracker.js';
export * from './service-process.js';
