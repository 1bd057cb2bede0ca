/** Config schema of the L7 DDoS stages. */
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
    rate: Type.String({
      pattern: '^[1-9][0-9]*/(s|m|h)$',
      description: 'Sustained rate: "100/s", "600/m", "10000/h".',
      errorHint: 'a rate such as "100/s", "600/m" or "10000/h" (a positive whole number per unit)',
    }),
    burst: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Requests admitted at once; default: one second of rate.' }),
    ),
    shadow: Type.Optional(Type.Boolean({ default: false, description: 'Count and log, do not refuse (for rollout).' })),
  },
  { additionalProperties: false },
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

export const ListsSchema = Type.Object(
  {
    allow: Type.Optional(Type.Array(Type.String(), { description: 'Addresses or CIDRs that pass (checked first).' })),
    deny: Type.Optional(Type.Array(Type.String(), { description: 'Addresses or CIDRs refused with 403.' })),
    allow_files: Type.Optional(
      Type.Array(Type.String(), {
        description: 'List files (one address or CIDR a line, # comments), re-read on change.',
      }),
    ),
    deny_files: Type.Optional(Type.Array(Type.String(), { description: 'List files for the deny list.' })),
  },
  { additionalProperties: false, description: 'IP allow and deny lists, from config and files.' },
);

export type ListsConfig = Static<typeof ListsSchema>;
export type RateLimitConfig = Static<typeof RateLimitSchema>;
export type RateLimitRule = Static<typeof RateLimitRuleSchema>;

// Overload shedding: the top-level `overload` section and a route's `priority` (schemas in shed/schema.ts).
export { OverloadSchema, RoutePriority, type OverloadConfig } from './shed/schema.js';
// Geo rules: routes[].stages.geo (schema in geo/schema.ts).
export { GeoSchema, type GeoConfig } from './geo/schema.js';
