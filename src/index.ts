/**
 * Bulwark as a library.
 * @example
 *   import { loadConfigFile, startSingle } from 'bulwark';
 *   const r = loadConfigFile('bulwark.yaml');
 *   if (r.ok) { const node = await startSingle(r.loaded); }
 * A program may add its own stage before loading the file, as a line in src/stages.ts would:
 *   registerStage(routeStageModule({ name: 'tenant', routeSchema, create }), { after: 'access' });
 */
export { formatProblem } from './config/index.js';
export { loadConfigFile, loadConfigText, type Config, type LoadedConfig } from './bulwark-config.js';
export { startSingle, type RunningNode } from './process/index.js';
export { Gateway } from './gateway/index.js';
export * from './pipeline/index.js';
export { registerStage, registeredStages, type AnyStageModule } from './stages.js';
export { BulwarkError, ERROR_CODES, type ErrorCode } from './errors.js';
