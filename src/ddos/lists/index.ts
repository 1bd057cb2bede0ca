/** IP allow and deny lists per route, from config and from list files re-read on change. */
export { listsModule } from './module.js';
export { ListsStage } from './stage.js';
export { parseList } from './list-file.js';
export { ListsSchema, type ListsConfig } from './schema.js';
export { listsMetrics } from './metrics.js';
