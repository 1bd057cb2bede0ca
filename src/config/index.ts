export { loadConfigFile, loadConfigText, type LoadedConfig, type LoadResult } from './load.js';
export { formatProblem, type ConfigProblem } from './errors.js';
export { ConfigSchema, type Config, type AdminConfig, type LogConfig } from './schema.js';
export { toBytes, toMs } from '../lib/units.js';
export { splitAddress } from './check.js';
export { DEFAULT_CONFIG_YAML } from './default.js';
