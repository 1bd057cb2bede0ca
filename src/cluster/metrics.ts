/** Metrics of the cross-node services, on prom-client's global registry (summed across workers by the primary). */
import client from 'prom-client';

export const clusterMetrics = {
  redisUp: new client.Gauge({
    name: 'bulwark_cluster_redis_up',
    help: '1 when this process is connected to Redis and shares state, 0 while it decides locally.',
    // With several workers the node shares only when every worker does.
    aggregator: 'min',
  }),
  fallback: new client.Counter({
    name: 'bulwark_cluster_ratelimit_fallback_total',
    help: 'Cluster-scoped rate-limit decisions made by the node limiter because Redis was unavailable.',
    labelNames: ['route', 'rule'] as const,
  }),
  leases: new client.Counter({
    name: 'bulwark_cluster_ratelimit_leases_total',
    help: 'Calls to Redis for a batch of tokens, by result: granted (some tokens), empty (none left), error.',
    labelNames: ['route', 'rule', 'result'] as const,
  }),
  banMessages: new client.Counter({
    name: 'bulwark_cluster_ban_changes_total',
    help: 'Ban changes through Redis: published, received, deferred (kept while Redis was down), invalid (dropped).',
    labelNames: ['direction'] as const,
  }),
};
