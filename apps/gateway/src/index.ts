export * from './config.js';
export { ConfigError } from './env-schema.js';
export * from './gateway.js';
export * from './logger.js';
export * from './metrics.js';
export { isNativeBuild, loadUws } from './uws.js';
