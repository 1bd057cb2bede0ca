/** The proof-of-work challenge: stage, config schema, under-attack switch, node secret. */
export { challengeModule } from './module.js';
export { ChallengeStage, acceptsHtml, COOKIE_NAME, API_RETRY_AFTER_S } from './stage.js';
export { challengeMetrics } from './metrics.js';
export { ChallengeSchema, UnderAttackSchema, type ChallengeConfig, type UnderAttackConfig } from './schema.js';
export {
  underAttack,
  setUnderAttack,
  parseUnderAttackRequest,
  underAttackFromConfig,
  type UnderAttackState,
} from './under-attack.js';
export { getNodeSecret, setNodeSecret } from './secret.js';
export { ChallengeSigner, solves, leadingZeroBits, CHALLENGE_TTL_MS, type Binding } from './tokens.js';
