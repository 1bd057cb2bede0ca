/**
 * Bulwark as a library.
 * @example
 *   import { loadConfigFile, startSingle } from 'bulwark';
 *   const r = loadConfigFile('bulwark.yaml');
 *   if (r.ok) { const node = await startSingle(r.loaded); }
 */
export { formatProblem } from './config/index.js';
export { loadConfigFile, loadConfigText, type Config, type LoadedConfig } from './bulwark-config.js';
export { startSingle, type RunningNode } from './process/index.js';
export { Gateway } from './gateway/index.js';
export * from './pipeline/index.js';
export { BulwarkError, ERROR_CODES, type ErrorCode } from './errors.js';
