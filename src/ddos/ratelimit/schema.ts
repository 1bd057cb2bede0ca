/** Config schema of the ratelimit stage: `routes[].stages.ratelimit` and the top-level `ratelimit` (every route). */
import { Type, type Static } from '@sinclair/typebox';

const KeyPart = Type.String({
  pattern: '^(client|client_prefix|route|header:[A-Za-z0-9-]+|cookie:[A-Za-z0-9_.-]+)$',
  description:
    'client: the whole client address; client_prefix: its /24 (IPv4) or /64 (IPv6); route; header:NAME; cookie:NAME.',
  errorHint: 'client, client_prefix, route, header:NAME or cookie:NAME',
});

export const RateLimitRuleSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'Named in headers, logs, events and metrics.' }),
    key: Type.Array(KeyPart, { minItems: 1, description: 'What a bucket is kept per; parts are combined.' }),
    rate: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]*/(s|m|h)$',
        description: 'Sustained rate (GCRA): "100/s", "600/m", "10000/h"; spent smoothly, with a burst on top.',
        errorHint: 'a rate such as "100/s", "600/m" or "10000/h" (a positive whole number per unit)',
      }),
    ),
    burst: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Requests admitted at once; default: one second of rate.' }),
    ),
    quota: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]*/(m|h|d)$',
        description:
          'A count per window (sliding-window counter): "1000/m", "5000/h", "10000/d"; may be spent at once. ' +
          'With rate as well, a request must pass both.',
        errorHint: 'a quota such as "1000/m", "5000/h" or "10000/d" (a positive whole number per minute, hour or day)',
      }),
    ),
    shadow: Type.Optional(Type.Boolean({ default: false, description: 'Count and log, do not refuse (for rollout).' })),
    scope: Type.Optional(
      Type.Union([Type.Literal('node'), Type.Literal('cluster')], {
        default: 'node',
        description: 'node: counted in this process; cluster: one budget shared by all nodes through cluster.redis.',
        errorHint: '"node" or "cluster"',
      }),
    ),
  },
  {
    additionalProperties: false,
    // A rule limits by rate, by quota or by both; one with neither would limit nothing.
    // (Each branch names its property too: ajv's strict mode wants `required` beside a `properties` entry.)
    anyOf: [
      { properties: { rate: {} }, required: ['rate'] },
      { properties: { quota: {} }, required: ['quota'] },
    ],
    errorHint: 'a rule with "rate" (e.g. 100/s), "quota" (e.g. 10000/d) or both',
  },
);

export const RateLimitSchema = Type.Object(
  {
    rules: Type.Array(RateLimitRuleSchema, {
      minItems: 1,
      description: 'Every rule applies; the first to refuse decides.',
    }),
  },
  { additionalProperties: false, description: 'Rate limits per key, GCRA with a burst.' },
);

export type RateLimitConfig = Static<typeof RateLimitSchema>;
export type RateLimitRule = Static<typeof RateLimitRuleSchema>;
