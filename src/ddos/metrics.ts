/** Metrics of the L7 DDoS stages, on prom-client's global registry (summed across workers by the primary). */
import client from 'prom-client';

export const ddosMetrics = {
  rateLimitDecisions: new client.Counter({
    name: 'bulwark_ddos_ratelimit_decisions_total',
    help: 'Rate-limit decisions by route, rule and decision (allowed, limited, shadow_limited).',
    labelNames: ['route', 'rule', 'decision'] as const,
  }),
  listDecisions: new client.Counter({
    name: 'bulwark_ddos_list_decisions_total',
    help: 'Requests whose client address was on a list, by route and list (allow or deny).',
    labelNames: ['route', 'list'] as const,
  }),
  listEntries: new client.Gauge({
    name: 'bulwark_ddos_list_entries',
    help: 'Entries loaded in a list, by route and list.',
    labelNames: ['route', 'list'] as const,
    aggregator: 'max',
  }),
  challengeOutcomes: new client.Counter({
    name: 'bulwark_ddos_challenge_total',
    help: 'Proof-of-work challenge outcomes by route: issued (page served), solved (cookie set), failed (wrong, expired or forged solution), refused (429 to a client that does not accept HTML).',
    labelNames: ['route', 'outcome'] as const,
  }),
};
