/** L7 DDoS and bot defence. Today: the lists stage (allow/deny CIDRs) and the ratelimit stage (GCRA per key). */
export { rateLimitStage, RateLimitStage, parseRate } from './ratelimit/stage.js';
export { Gcra, type GcraDecision } from './ratelimit/gcra.js';
export { RateLimitSchema, ListsSchema, type RateLimitConfig, type ListsConfig } from './schema.js';
export { listsStage, ListsStage } from './lists/stage.js';
export { parseList } from './lists/list-file.js';
export { OverloadGuard, createShedStage, checkOverload, SHED_REASON } from './shed/index.js';
export { geoStage, checkGeo, loadGeoDatabase, parseGeoDatabase } from './geo/index.js';
