/** Metrics of the L7 DDoS stages, on prom-client's global registry (summed across workers by the primary). */
import client from 'prom-client';

export const ddosMetrics = {
  rateLimitDecisions: new client.Counter({
    name: 'bulwark_ddos_ratelimit_decisions_total',
    help: 'Rate-limit decisions by route, rule and decision (allowed, limited, shadow_limited).',
    labelNames: ['route', 'rule', 'decision'] as const,
  }),
};
