/**
 * The challenge stage's registry entry. Every route carries the stage, asleep until under-attack mode is switched
 * on, unless its config says `mode: never`; the top-level `under_attack` section sets the mode a node starts in.
 */
import { toMs } from '../../lib/units.js';
import type { StageModule } from '../../pipeline/index.js';
import { ChallengeSchema, DEFAULT_COOKIE_TTL, DEFAULT_DIFFICULTY, UnderAttackSchema } from './schema.js';
import type { ChallengeConfig } from './schema.js';
import { getNodeSecret, readSecretFile } from './secret.js';
import { ChallengeStage } from './stage.js';
import { ChallengeSigner } from './tokens.js';

const UNDER_ATTACK_ONLY: ChallengeConfig = { mode: 'under_attack' };

export const challengeModule: StageModule<ChallengeConfig, undefined> = {
  name: 'challenge',
  routeSchema: ChallengeSchema,
  nodeSchemas: { under_attack: UnderAttackSchema },
  create(route, _node, deps) {
    const config = route.config ?? UNDER_ATTACK_ONLY;
    if (config.mode === 'never') return undefined;
    const secret = config.secret_file ? readSecretFile(config.secret_file, deps.baseDir) : getNodeSecret();
    return new ChallengeStage({
      route: deps.routeName,
      onlyUnderAttack: config.mode === 'under_attack',
      difficulty: config.difficulty ?? (config.mode === 'under_attack' ? undefined : DEFAULT_DIFFICULTY),
      cookieTtlMs: toMs(config.cookie_ttl ?? DEFAULT_COOKIE_TTL),
      signer: new ChallengeSigner(secret),
    });
  },
};
