export * from './log-destination.js';
export * from './logger.js';
export * from './shutdown.js';
export * from './stdio.js';
