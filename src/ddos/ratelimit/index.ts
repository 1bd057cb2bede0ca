/** Rate limits and quotas per key (GCRA and sliding windows), per route and for every route. */
export { rateLimitModule } from './module.js';
export { RateLimitStage, parseRate } from './stage.js';
export { Gcra, type GcraDecision } from './gcra.js';
export { SHARED_RATE_LIMITS, type RuleLimiter, type SharedRateLimits, type SharedRuleSpec } from './port.js';
export { RateLimitSchema, RateLimitRuleSchema, type RateLimitConfig, type RateLimitRule } from './schema.js';
export { rateLimitMetrics } from './metrics.js';
