/** Config of bans: per route (`routes[].stages.bans`, automatic bans) and per node (top-level `bans`). */
import { Type, type Static } from '@sinclair/typebox';
import { Duration } from '../../lib/units.js';

export const BanTriggerSchema = Type.Object(
  {
    on: Type.String({
      pattern: '^[a-z][a-z0-9_-]*$',
      description:
        '"errors": any response whose status matches `status`; a stage name (ratelimit, waf, access, lists...): ' +
        'requests that stage refused (their reason starts with "<stage>:").',
      errorHint: '"errors" or a stage name such as "ratelimit" or "waf"',
    }),
    reasons: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]*:[A-Za-z0-9_.:-]+$' }), {
        minItems: 1,
        description: 'Only these reason codes, e.g. ["ratelimit:per-ip"]; default: every reason of the stage.',
      }),
    ),
    status: Type.Optional(
      Type.String({
        pattern: '^([1-5]xx|[1-5][0-9]{2}(-[1-5][0-9]{2})?)$',
        description: 'Only these statuses: "4xx", "5xx", "404" or "500-599". For "errors" the default is 400-599.',
        errorHint: 'a status class such as "4xx", a status such as "404", or a range such as "500-504"',
      }),
    ),
    count: Type.Integer({ minimum: 1, maximum: 10_000, description: 'How many trips ban the client.' }),
    within: Duration('The sliding window those trips must fall in.'),
  },
  { additionalProperties: false },
);

export const BansRouteSchema = Type.Object(
  {
    enforce: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          'Refuse banned clients on this route. Every route enforces bans unless it says false here (a health ' +
          'check route, say).',
      }),
    ),
    triggers: Type.Optional(Type.Array(BanTriggerSchema, { description: 'What bans a client automatically.' })),
    ban: Type.Optional(Duration('First automatic ban of a client.', '10m')),
    max_ban: Type.Optional(Duration('Longest automatic ban.', '24h')),
    growth: Type.Optional(
      Type.Number({
        minimum: 1,
        maximum: 100,
        default: 2,
        description: 'Each repeat offence within `memory` multiplies the ban time by this, up to max_ban.',
      }),
    ),
    memory: Type.Optional(Duration('How long a ban counts as a previous offence.', '24h')),
  },
  { additionalProperties: false, description: 'Refuses banned clients; bans automatically on repeated trips.' },
);

export const BansNodeSchema = Type.Object(
  {
    state_file: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Keeps bans across restarts without Redis (JSON, written atomically); relative to the config.',
      }),
    ),
    max_entries: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        default: 100_000,
        description: 'Most bans held; when full, the ban that would end soonest makes room.',
      }),
    ),
  },
  { additionalProperties: false, description: 'The node-wide ban table.' },
);

export type BanTriggerConfig = Static<typeof BanTriggerSchema>;
export type BansRouteConfig = Static<typeof BansRouteSchema>;
export type BansNodeConfig = Static<typeof BansNodeSchema>;
