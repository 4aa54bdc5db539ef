export * from './backplane.js';
export * from './connection-limiter.js';
export * from './event-bus.js';
export * from './key-store.js';
export * from './retention.js';
export * from './snapshot-store.js';
