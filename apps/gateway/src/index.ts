export { ConfigError } from '@hydra/config';
export { logRedisRevivals } from '@hydra/metrics';
export * from './bus-drops.js';
export * from './config.js';
export * from './gateway.js';
export * from './logger.js';
export * from './metrics.js';
export { isNativeBuild, loadUws } from './uws.js';
