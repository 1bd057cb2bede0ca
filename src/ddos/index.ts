/**
 * L7 DDoS and bot defence, one sub-folder per stage: shed (overload), bans, lists (allow/deny CIDRs), geo,
 * ratelimit (GCRA and quotas per key), challenge (proof of work). Each exports its registry module.
 */
export {
  rateLimitModule,
  RateLimitStage,
  parseRate,
  Gcra,
  SHARED_RATE_LIMITS,
  RateLimitSchema,
  type GcraDecision,
  type RuleLimiter,
  type SharedRateLimits,
  type SharedRuleSpec,
  type RateLimitConfig,
} from './ratelimit/index.js';
export { listsModule, ListsStage, parseList, ListsSchema, type ListsConfig } from './lists/index.js';
export {
  bansModule,
  BAN_TABLE,
  BanTable,
  BansStage,
  covers,
  parseTarget,
  type Ban,
  type BanChange,
  type BanReplication,
  type ChangeOrigin,
  type BansNodeConfig,
} from './bans/index.js';
export {
  challengeModule,
  ChallengeSchema,
  getNodeSecret,
  setNodeSecret,
  underAttack,
  setUnderAttack,
  parseUnderAttackRequest,
  underAttackFromConfig,
  type ChallengeConfig,
  type UnderAttackConfig,
  type UnderAttackState,
} from './challenge/index.js';
export { shedModule, OverloadGuard, checkOverload, SHED_REASON } from './shed/index.js';
export { geoModule, checkGeo, loadGeoDatabase, parseGeoDatabase } from './geo/index.js';
