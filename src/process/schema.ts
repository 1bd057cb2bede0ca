/** Config schema of the node's processes: workers, how connections reach them, the demo origin. */
import { Type } from '@sinclair/typebox';
import { Size } from '../lib/units.js';

/** Top-level sections read by src/process; composed into the whole file by src/bulwark-config.ts. */
export const ProcessSections = {
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
  demo_origin: Type.Optional(
    Type.Object(
      {
        address: Type.String({ description: 'host:port where the built-in demo origin listens.' }),
      },
      { additionalProperties: false, description: 'Starts the built-in demo origin (used by the default config).' },
    ),
  ),
};
