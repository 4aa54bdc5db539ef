export * from './close-codes.js';
export * from './messages.js';
export * from './scopes.js';
