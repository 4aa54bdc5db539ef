export { AuthThrottle, type AuthThrottleOptions, throttleSource } from './auth-throttle.js';
export { ExpiringMap } from './expiring-map.js';
