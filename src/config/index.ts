export {
  loadConfigFile,
  readConfigFile,
  readConfigText,
  MAX_CONFIG_BYTES,
  parseConfig,
  validateConfigObject,
  ConfigError,
  formatProblem,
  formatPath,
  DEFAULT_STICKY_TTL_MS,
} from './load.js';
export { scrubSecrets } from './quote.js';
export { configMessages } from './messages.js';
export type { LoadOptions } from './load.js';
export { reshuffleProblems } from './reshuffle.js';
export { configSchema, PROVIDERS, PLATFORMS, PLATFORM_LIMITS, METHODS, MODES, WEIGHT_TOTAL } from './schema.js';
export { parseDuration } from './duration.js';
export type * from './types.js';
export { ConfigWatcher } from './watch.js';
export type { WatchOptions } from './watch.js';
