export {
  ConfigError,
  type Env,
  LOG_LEVELS,
  type LogLevel,
  readBool,
  readEnum,
  readInt,
  readRedisUrl,
  readString,
  readWith,
} from './env.js';
