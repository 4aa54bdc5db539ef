export * from './api-key-format.js';
export * from './close-codes.js';
export * from './ingest-body.js';
export * from './ingest-validation.js';
export * from './messages.js';
export * from './resume-position.js';
export * from './scopes.js';
export * from './server-messages.js';
