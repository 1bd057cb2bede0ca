/**
 * Config primitives: YAML with positions, ${VAR} substitution, schema validation into operator-readable problems,
 * and a loader generic over the schema. The whole bulwark.yaml is composed in src/bulwark-config.ts.
 */
export {
  createConfigLoader,
  type ConfigCheck,
  type ConfigLoader,
  type DocumentResult,
  type LoadedDocument,
} from './load.js';
export { formatProblem, type ConfigProblem } from './errors.js';
export { toBytes, toMs } from '../lib/units.js';
export { splitAddress } from './address.js';
export { DEFAULT_CONFIG_YAML } from './default.js';
