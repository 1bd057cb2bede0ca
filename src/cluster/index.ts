/** State shared between gateway nodes through Redis: cluster-wide rate limits and ban replication. */
export { sharedRateLimits, createRedisBanReplication } from './services.js';
export { ClusterSchema, RedisSchema, type ClusterConfig, type RedisConfig } from './schema.js';
export { clusterProvider } from './module.js';
export { leaseSize } from './lease.js';
export { clusterMetrics } from './metrics.js';
export { parseBan, parseChange } from './bans.js';
