export * from './resuming-client.js';
export * from './stream-client.js';
