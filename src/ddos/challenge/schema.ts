/** Config schema of the proof-of-work challenge stage (`routes[].stages.challenge`). */
import { Type, type Static } from '@sinclair/typebox';
import { Duration } from '../../lib/units.js';

/** Above 24 bits a slow phone needs minutes; below 8 the work is no work at all. */
export const MIN_DIFFICULTY = 8;
export const MAX_DIFFICULTY = 24;
export const DEFAULT_DIFFICULTY = 16;
export const DEFAULT_COOKIE_TTL = '1h';

export const ChallengeSchema = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal('always'), Type.Literal('under_attack'), Type.Literal('never')], {
        default: 'always',
        description:
          'always: every request without a valid cookie is challenged; under_attack: only while under-attack mode ' +
          'is on (admin API); never: this route is left out of under-attack mode (webhooks, health checks).',
        errorHint: 'always, under_attack or never',
      }),
    ),
    difficulty: Type.Optional(
      Type.Integer({
        minimum: MIN_DIFFICULTY,
        maximum: MAX_DIFFICULTY,
        description: 'Leading zero bits of SHA-256(challenge || nonce): the browser does about 2^difficulty hashes.',
        errorHint: `a whole number of bits from ${MIN_DIFFICULTY} to ${MAX_DIFFICULTY} (16: 65,536 hashes on average, a second or two)`,
      }),
    ),
    cookie_ttl: Type.Optional(Duration('How long a solved challenge lets the client in.', DEFAULT_COOKIE_TTL)),
    secret_file: Type.Optional(
      Type.String({
        description:
          'File holding the HMAC secret (at least 32 bytes), relative to the config file. Without it each node ' +
          'generates one at start (shared by its workers); set it to share cookies across nodes and restarts.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Proof-of-work challenge for browsers; 429 for API clients.' },
);

export type ChallengeConfig = Static<typeof ChallengeSchema>;

/** Top-level `under_attack`: the mode a node starts in and each reload sets (the admin API switches it between). */
export const UnderAttackSchema = Type.Object(
  {
    enabled: Type.Boolean({
      description: 'Challenge every route (except mode: never) from start, and again at each reload.',
      errorHint: 'true or false',
    }),
    difficulty: Type.Optional(
      Type.Integer({
        minimum: MIN_DIFFICULTY,
        maximum: MAX_DIFFICULTY,
        default: DEFAULT_DIFFICULTY,
        description: 'Difficulty for routes that have no challenge config of their own.',
        errorHint: `a whole number of bits from ${MIN_DIFFICULTY} to ${MAX_DIFFICULTY}`,
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Under-attack mode from the file. The admin API (POST /v1/under-attack) still switches it at run time; the ' +
      'next reload sets it back to this value. Without this key the mode is left to the admin API (off at start).',
  },
);

export type UnderAttackConfig = Static<typeof UnderAttackSchema>;
