/** Metrics of overload shedding, on prom-client's global registry (summed or maxed across workers by the primary). */
import client from 'prom-client';

export const shedMetrics = {
  shed: new client.Counter({
    name: 'bulwark_ddos_shed_total',
    help: 'Requests shed with 503 while overloaded, by route, the signal that raised the level, and priority.',
    labelNames: ['route', 'reason', 'priority'] as const,
  }),
  state: new client.Gauge({
    name: 'bulwark_ddos_overload_state',
    help: 'Overload level of the worker: 0 ok, 1 shedding normal traffic, 2 shedding all traffic (max over workers).',
    aggregator: 'max',
  }),
};
