/** Metrics of the WAF, on prom-client's global registry (summed across workers by the primary). */
import client from 'prom-client';

export const wafMetrics = {
  requests: new client.Counter({
    name: 'bulwark_waf_requests_total',
    help: 'Requests the WAF inspected, by route and outcome (passed, detected, blocked).',
    labelNames: ['route', 'outcome'] as const,
  }),
  ruleMatches: new client.Counter({
    name: 'bulwark_waf_rule_matches_total',
    help: 'Logged rule matches, by rule id and action (blocked, detected).',
    labelNames: ['rule', 'action'] as const,
  }),
};
