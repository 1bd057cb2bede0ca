/**
 * The cluster's registry entry: it owns the top-level `cluster` section and, when Redis is configured, binds the
 * ratelimit stage's shared-limit port to Redis. Ban replication is wired by src/process, which owns the ban table.
 */
import { SHARED_RATE_LIMITS } from '../ddos/index.js';
import { bind, type PortProvider } from '../pipeline/index.js';
import { sharedRateLimits } from './services.js';
import { ClusterSchema, type ClusterConfig } from './schema.js';

export const clusterProvider: PortProvider = {
  name: 'cluster',
  nodeSchemas: { cluster: ClusterSchema },
  provide(ctx) {
    const redis = (ctx.sections['cluster'] as ClusterConfig | undefined)?.redis;
    return redis ? [bind(SHARED_RATE_LIMITS, sharedRateLimits(redis))] : [];
  },
};
