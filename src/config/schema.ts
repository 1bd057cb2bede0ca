/**
 * The whole bulwark.yaml, composed from each folder's schema. One source of truth: ajv validates against this
 * object and the TypeScript types are derived from it with TypeBox's Static.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LimitsSchema, ListenerSchema, PoolSchema, RouteSchema } from '../gateway/schema.js';
import { Duration, Size } from '../lib/units.js';
import { BansNodeSchema, OverloadSchema, RateLimitSchema, UnderAttackSchema } from '../ddos/schema.js';
import { WafSchema } from '../waf/schema.js';
import { ClusterSchema } from '../cluster/schema.js';
import { AdminSchema } from '../admin/schema.js';

const LogSchema = Type.Object(
  {
    level: Type.Optional(
      Type.Union(
        ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
        { default: 'info' },
      ),
    ),
    access: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean({ default: true })),
          destination: Type.Optional(Type.String({ default: 'stdout', description: '"stdout" or a file path.' })),
          fields: Type.Optional(
            Type.Array(
              Type.Union(
                [
                  'time',
                  'id',
                  'route',
                  'client',
                  'method',
                  'host',
                  'path',
                  'status',
                  'duration_ms',
                  'bytes_in',
                  'bytes_out',
                  'origin',
                  'attempts',
                  'reason',
                  'user_agent',
                  'protocol',
                ].map((f) => Type.Literal(f)),
              ),
              { description: 'Fields written per request; all when absent.' },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    workers: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 0, maximum: 256 })], {
        default: 'auto',
        description: '"auto" runs one worker per core; 0 serves from the main process (for tests and embedding).',
        errorHint: '"auto" or a number of workers',
      }),
    ),
    workers_balance: Type.Optional(
      Type.Union([Type.Literal('client_hash'), Type.Literal('kernel')], {
        description:
          'How connections reach workers. client_hash: the primary accepts and gives every connection of a ' +
          'client /24 (IPv4) or /64 (IPv6) to one worker, so per-client rate limits are exact per node. kernel: ' +
          "node:cluster's own spreading (SO_REUSEPORT on Node >= 22.12), for nodes without per-client limits. " +
          'Default: client_hash, or kernel when trusted_proxies is set (behind a proxy the TCP peer is the proxy, ' +
          'and hashing it would put the whole node on one worker). Read at start; a reload does not change it.',
      }),
    ),
    worker_heap_limit: Type.Optional(
      Size(
        "Each worker's V8 old-space limit (node's --max-old-space-size). Below V8's default (a quarter of RAM, " +
          'up to 4 GiB) V8 also grows the heap by smaller steps between full collections, so a worker under load ' +
          'holds less garbage: with CRS, about 200 MiB resident instead of 260-330 MiB (docs/rationale.md). A ' +
          '--max-old-space-size given to node itself (command line or NODE_OPTIONS) wins; with workers: 0 only that ' +
          'applies. Read at start.',
        '1GiB',
      ),
    ),
    listeners: Type.Array(ListenerSchema, { minItems: 1 }),
    routes: Type.Array(RouteSchema, { minItems: 1, description: 'Tried in order; the first match serves.' }),
    pools: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), PoolSchema),
    limits: Type.Optional(LimitsSchema),
    trusted_proxies: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Peers (CIDRs) whose X-Forwarded-For, Forwarded and X-Request-Id are believed.',
      }),
    ),
    admin: Type.Optional(AdminSchema),
    log: Type.Optional(LogSchema),
    waf: Type.Optional(WafSchema),
    bans: Type.Optional(BansNodeSchema),
    cluster: Type.Optional(ClusterSchema),
    overload: Type.Optional(OverloadSchema),
    under_attack: Type.Optional(UnderAttackSchema),
    // Rate limits on every route, checked before the route's own: one counter per key across all routes.
    ratelimit: Type.Optional(RateLimitSchema),
    shutdown_timeout: Type.Optional(Duration('On SIGTERM, how long in-flight requests may take to finish.', '30s')),
    demo_origin: Type.Optional(
      Type.Object(
        {
          address: Type.String({ description: 'host:port where the built-in demo origin listens.' }),
        },
        { additionalProperties: false, description: 'Starts the built-in demo origin (used by the default config).' },
      ),
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type AdminConfig = Static<typeof AdminSchema>;
export type LogConfig = Static<typeof LogSchema>;
