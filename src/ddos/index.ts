/** L7 DDoS and bot defence. Today: the ratelimit stage (GCRA per key, 429 with IETF RateLimit headers). */
export { rateLimitStage, RateLimitStage, parseRate } from './ratelimit/stage.js';
export { Gcra, type GcraDecision } from './ratelimit/gcra.js';
export { RateLimitSchema, type RateLimitConfig } from './schema.js';
