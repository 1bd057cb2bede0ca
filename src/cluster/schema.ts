/** Config schema of the cross-node services: `cluster.redis` at the top level of bulwark.yaml. */
import { Type, type Static } from '@sinclair/typebox';
import { Duration } from '../lib/units.js';

export const RedisSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^rediss?://',
      default: 'redis://127.0.0.1:6379',
      description: 'redis:// or rediss:// (TLS) URL; a password in it is never logged. Use ${REDIS_URL} for secrets.',
      errorHint: 'a URL such as "redis://127.0.0.1:6379" or "rediss://:${REDIS_PASSWORD}@redis.internal:6380"',
    }),
    key_prefix: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_:.{}-]*$',
        default: 'bulwark:',
        description: 'Prefix of every key and channel, so that several gateways can share one Redis.',
        errorHint: 'letters, digits and _ : . { } -, e.g. "bulwark:"',
      }),
    ),
    lease: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 10,
        description:
          'Most tokens a node takes from a shared rate-limit budget per Redis call (also capped at a tenth of the ' +
          "rule's burst). Larger: fewer Redis calls; smaller: a tighter bound (nodes x lease).",
      }),
    ),
    connect_timeout: Type.Optional(Duration('How long a connection attempt may take.', '2s')),
    command_timeout: Type.Optional(
      Duration('How long a command may take before the node decides locally for a while.', '250ms'),
    ),
    node_id: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.:-]{1,100}$',
        description: 'Names this node in replicated bans; default: host name, process id and a random suffix.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ClusterSchema = Type.Object(
  { redis: RedisSchema },
  {
    additionalProperties: false,
    description: 'State shared between gateway nodes: cluster-wide rate limits and replicated bans.',
  },
);

export type RedisConfig = Static<typeof RedisSchema>;
export type ClusterConfig = Static<typeof ClusterSchema>;
