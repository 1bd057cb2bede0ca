/** Config schemas of the L7 DDoS stages, each owned by its sub-folder; gathered here for the docs and tests. */
export { BansNodeSchema, BansRouteSchema, type BansNodeConfig, type BansRouteConfig } from './bans/schema.js';
export {
  ChallengeSchema,
  UnderAttackSchema,
  type ChallengeConfig,
  type UnderAttackConfig,
} from './challenge/schema.js';
export { RateLimitSchema, RateLimitRuleSchema, type RateLimitConfig, type RateLimitRule } from './ratelimit/schema.js';
export { ListsSchema, type ListsConfig } from './lists/schema.js';
export { OverloadSchema, RoutePriority, type OverloadConfig } from './shed/schema.js';
export { GeoSchema, type GeoConfig } from './geo/schema.js';
