/** Metrics of the lists stage, on prom-client's global registry. */
import client from 'prom-client';

export const listsMetrics = {
  decisions: new client.Counter({
    name: 'bulwark_ddos_list_decisions_total',
    help: 'Requests whose client address was on a list, by route and list (allow or deny).',
    labelNames: ['route', 'list'] as const,
  }),
  entries: new client.Gauge({
    name: 'bulwark_ddos_list_entries',
    help: 'Entries loaded in a list, by route and list.',
    labelNames: ['route', 'list'] as const,
    aggregator: 'max',
  }),
};
