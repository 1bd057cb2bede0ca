/**
 * L7 DDoS and bot defence: the bans stage and table, the challenge stage, the lists stage (allow/deny CIDRs), the ratelimit stage
 * (GCRA per key).
 */
export { rateLimitStage, RateLimitStage, parseRate } from './ratelimit/stage.js';
export { Gcra, type GcraDecision } from './ratelimit/gcra.js';
export { clientPrefix } from './ratelimit/key.js';
export { RateLimitSchema, ListsSchema, type RateLimitConfig, type ListsConfig } from './schema.js';
export { listsStage, ListsStage } from './lists/stage.js';
export { parseList } from './lists/list-file.js';
export {
  BanTable,
  BansStage,
  covers,
  parseTarget,
  type Ban,
  type BanChange,
  type BanReplication,
  type ChangeOrigin,
} from './bans/index.js';
export {
  challengeStage,
  ChallengeSchema,
  getNodeSecret,
  setNodeSecret,
  underAttack,
  setUnderAttack,
  parseUnderAttackRequest,
  underAttackFromConfig,
  type ChallengeConfig,
  type UnderAttackState,
} from './challenge/index.js';
export { OverloadGuard, createShedStage, checkOverload, SHED_REASON } from './shed/index.js';
export { geoStage, checkGeo, loadGeoDatabase, parseGeoDatabase } from './geo/index.js';
