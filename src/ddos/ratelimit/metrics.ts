/** Metrics of the ratelimit stage, on prom-client's global registry (summed across workers by the primary). */
import client from 'prom-client';

export const rateLimitMetrics = {
  decisions: new client.Counter({
    name: 'bulwark_ddos_ratelimit_decisions_total',
    help: 'Rate-limit decisions by route, rule and decision (allowed, limited, shadow_limited).',
    labelNames: ['route', 'rule', 'decision'] as const,
  }),
};
