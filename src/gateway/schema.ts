/** Config schema of the gateway: listeners, routes, origin pools, limits. The TypeScript types come from here. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration, Size } from '../lib/units.js';

const Address = Type.String({
  pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s\\[\\]]+):(\\d{1,5})$',
  description: 'host:port to bind, e.g. "127.0.0.1:8080", "0.0.0.0:443" or "[::]:443".',
  errorHint: 'host:port, e.g. "127.0.0.1:8080" or "[::1]:8443"',
});

const Certificate = Type.Object(
  {
    cert: Type.String({ description: 'PEM certificate chain file, relative to the config file.' }),
    key: Type.String({ description: 'PEM private key file, relative to the config file.' }),
    hosts: Type.Optional(
      Type.Array(Type.String(), {
        description: 'SNI names this certificate answers; default: the DNS names in its subjectAltName.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ListenerSchema = Type.Object(
  {
    name: Type.String({ description: 'Name used in logs and metrics.' }),
    address: Address,
    protocols: Type.Optional(
      Type.Array(Type.Union([Type.Literal('http1'), Type.Literal('h2'), Type.Literal('h2c')]), {
        description:
          'Protocols served. With tls: http1 and h2 (by ALPN). Without tls: http1 and h2c (prior knowledge).',
        default: ['http1'],
        uniqueItems: true,
        minItems: 1,
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          certificates: Type.Array(Certificate, {
            minItems: 1,
            description: 'Certificates chosen by SNI; the first is the default for clients that send no SNI.',
          }),
          min_version: Type.Optional(Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')])),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const PathMatch = Type.Union(
  [
    Type.Object({ exact: Type.String({ pattern: '^/' }) }, { additionalProperties: false }),
    Type.Object({ prefix: Type.String({ pattern: '^/' }) }, { additionalProperties: false }),
    Type.Object(
      { regex: Type.String({ description: 'RE2 syntax, matched against the path (no query).' }) },
      {
        additionalProperties: false,
      },
    ),
  ],
  { errorHint: 'one of { exact: "/x" }, { prefix: "/x" } or { regex: "^/x/[0-9]+$" }' },
);

const HeaderEdits = Type.Object(
  {
    set: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Set (replace) these headers.' })),
    add: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Append these headers.' })),
    remove: Type.Optional(Type.Array(Type.String(), { description: 'Remove these headers.' })),
  },
  { additionalProperties: false },
);

/** A route's own fields; the registry adds `stages` and the fields stage modules own (src/bulwark-config.ts). */
const RouteProps = {
  name: Type.String({ description: 'Name used in logs, metrics and events.' }),
  match: Type.Optional(
    Type.Object(
      {
        hosts: Type.Optional(
          Type.Array(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9.-]+$' }), {
            description: 'Exact host names or wildcards like "*.example.com"; any host when absent.',
          }),
        ),
        path: Type.Optional(PathMatch),
        methods: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]+$' }), { minItems: 1 })),
      },
      { additionalProperties: false },
    ),
  ),
  pool: Type.String({ description: 'Name of the origin pool that serves this route.' }),
  timeouts: Type.Optional(
    Type.Object(
      {
        connect: Type.Optional(Duration('Connect to an origin.', '5s')),
        first_byte: Type.Optional(Duration('From request sent to response headers.', '30s')),
        idle: Type.Optional(Duration('Longest gap between body chunks, either direction.', '60s')),
      },
      { additionalProperties: false },
    ),
  ),
  limits: Type.Optional(
    Type.Object(
      { body: Type.Optional(Size('Largest request body; 413 past it.', '10MiB')) },
      {
        additionalProperties: false,
      },
    ),
  ),
  headers: Type.Optional(
    Type.Object(
      { request: Type.Optional(HeaderEdits), response: Type.Optional(HeaderEdits) },
      {
        additionalProperties: false,
      },
    ),
  ),
};

/**
 * The schema of one route: its own fields, the route-level fields stage modules own (e.g. `priority`), and a `stages`
 * object with one optional key per registered stage.
 */
export function routeSchema(
  moduleFields: Readonly<Record<string, TSchema>>,
  stages: Readonly<Record<string, TSchema>>,
) {
  return Type.Object(
    {
      ...RouteProps,
      ...moduleFields,
      stages: Type.Optional(
        Type.Object(stages, {
          additionalProperties: false,
          description: 'The stages this route runs, each with its config. Their order is fixed (src/stages.ts).',
        }),
      ),
    },
    { additionalProperties: false },
  );
}

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- only its type is used
const BaseRouteSchema = Type.Object(RouteProps, { additionalProperties: false });

const OriginSchema = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^/\\s]+/?$', errorHint: 'an origin URL like "http://10.0.0.5:8080"' }),
    weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1 })),
    zone: Type.Optional(Type.String({ description: 'Zone or cloud label, e.g. "aws-eu-west-1"; in metrics.' })),
  },
  { additionalProperties: false },
);

export const PoolSchema = Type.Object(
  {
    balancer: Type.Optional(
      Type.Union([Type.Literal('round_robin'), Type.Literal('least_request')], { default: 'round_robin' }),
    ),
    origins: Type.Array(OriginSchema, { minItems: 1 }),
    failover: Type.Optional(
      Type.String({ description: 'Pool that takes the traffic while this one has no healthy origin.' }),
    ),
    health: Type.Optional(
      Type.Object(
        {
          path: Type.String({ pattern: '^/', description: 'Path probed with GET.' }),
          interval: Type.Optional(Duration('Between probes.', '5s')),
          timeout: Type.Optional(Duration('Per probe.', '2s')),
          healthy: Type.Optional(Type.Integer({ minimum: 1, default: 2, description: 'Passes to mark healthy.' })),
          unhealthy: Type.Optional(Type.Integer({ minimum: 1, default: 2, description: 'Fails to mark unhealthy.' })),
          expect_status: Type.Optional(Type.String({ pattern: '^[1-5]\\d\\d(-[1-5]\\d\\d)?$', default: '200-399' })),
        },
        { additionalProperties: false },
      ),
    ),
    ejection: Type.Optional(
      Type.Object(
        {
          consecutive_5xx: Type.Optional(Type.Integer({ minimum: 1, default: 5 })),
          consecutive_connect_failures: Type.Optional(Type.Integer({ minimum: 1, default: 3 })),
          base_time: Type.Optional(Duration('First ejection; doubles on each repeat.', '5s')),
          max_time: Type.Optional(Duration('Longest ejection.', '5m')),
        },
        { additionalProperties: false },
      ),
    ),
    retries: Type.Optional(
      Type.Object(
        {
          attempts: Type.Optional(Type.Integer({ minimum: 0, maximum: 5, default: 2 })),
          budget: Type.Optional(
            Type.Number({ minimum: 0, maximum: 1, default: 0.2, description: 'Retries as a share of requests.' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    connections: Type.Optional(
      Type.Integer({ minimum: 1, default: 128, description: 'Keep-alive connections per origin and worker.' }),
    ),
  },
  { additionalProperties: false },
);

export const LimitsSchema = Type.Object(
  {
    header_bytes: Type.Optional(Size('Largest request header block; 431 past it.', '16KiB')),
    uri_bytes: Type.Optional(Size('Longest request target; 414 past it.', '8KiB')),
    headers_timeout: Type.Optional(Duration('Request headers must be complete within this; 408 past it.', '10s')),
    keepalive_timeout: Type.Optional(Duration('Idle keep-alive connections close after this.', '60s')),
    connections_per_client: Type.Optional(
      Type.Integer({
        minimum: 1,
        errorHint: 'a positive number of connections',
        description:
          'Concurrent connections one client address may hold, per worker; more are closed at once. Unset: no ' +
          'limit (the right setting behind a load balancer that is the peer of every connection).',
      }),
    ),
    connections_total: Type.Optional(
      Type.Integer({
        minimum: 1,
        errorHint: 'a positive number of connections',
        description: 'Concurrent client connections per listener and worker; more are closed at once.',
      }),
    ),
    new_connections_per_second_per_client: Type.Optional(
      Type.Integer({
        minimum: 1,
        errorHint: 'a positive number of connections per second',
        description:
          'New connections one client address may open per second, per listener and worker (a token bucket ' +
          'holding one second of them); more are closed at accept. Unset: no limit (behind a load balancer).',
      }),
    ),
    body_min_rate: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 240,
        errorHint: 'a number of bytes per second (0 turns the guard off)',
        description:
          'Slow POST: bytes per second a request body must average after body_min_rate_grace, counting only the ' +
          'time the gateway waits for the client; slower bodies get 408 and the connection or stream closes. 0: off.',
      }),
    ),
    body_min_rate_grace: Type.Optional(Duration('Time a request body gets before body_min_rate applies.', '5s')),
    send_timeout: Type.Optional(
      Duration(
        'Slow read: no byte of a waiting response taken by the client for this long closes the connection; 0: off.',
        '30s',
      ),
    ),
    max_requests_per_connection: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 1000,
        errorHint: 'a number of requests (0: no limit)',
        description:
          'Requests served on one connection before it is closed (HTTP/1.1: Connection: close on the last answer; ' +
          'HTTP/2: GOAWAY after the last stream). 0: no limit.',
      }),
    ),
    h2_max_concurrent_streams: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 4294967295,
        default: 128,
        errorHint: 'a positive number of streams',
        description: 'HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS announced to clients.',
      }),
    ),
    h2_stream_reset_burst: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 1000,
        errorHint: 'a positive number of RST_STREAM frames',
        description:
          'HTTP/2 rapid reset: RST_STREAM frames a client may send at once before h2_stream_reset_rate applies ' +
          '(Node 22.10 and later; Node 20 uses nghttp2 fixed limits of the same values).',
      }),
    ),
    h2_stream_reset_rate: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 33,
        errorHint: 'a positive number of RST_STREAM frames per second',
        description: 'HTTP/2 rapid reset: sustained RST_STREAM frames per second; past it the session ends (GOAWAY).',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Top-level sections the gateway owns; `routes` is composed with the registry's stages in src/bulwark-config.ts. */
export const GatewaySections = {
  listeners: Type.Array(ListenerSchema, { minItems: 1 }),
  pools: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), PoolSchema),
  limits: Type.Optional(LimitsSchema),
  trusted_proxies: Type.Optional(
    Type.Array(Type.String(), {
      description: 'Peers (CIDRs) whose X-Forwarded-For, Forwarded and X-Request-Id are believed.',
    }),
  ),
  shutdown_timeout: Type.Optional(Duration('On SIGTERM, how long in-flight requests may take to finish.', '30s')),
};

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- only its type is used
const GatewaySectionsSchema = Type.Object(GatewaySections);

export type ListenerConfig = Static<typeof ListenerSchema>;
/** A route as the gateway reads it: its own fields typed; stage configs and module-owned fields opaque. */
export type RouteConfig = Static<typeof BaseRouteSchema> & {
  readonly stages?: Readonly<Record<string, unknown>>;
  readonly [moduleField: string]: unknown;
};
export type PoolConfig = Static<typeof PoolSchema>;
export type LimitsConfig = Static<typeof LimitsSchema>;
/** What the gateway reads of the configuration. */
export type GatewayConfig = Static<typeof GatewaySectionsSchema> & { readonly routes: readonly RouteConfig[] };
