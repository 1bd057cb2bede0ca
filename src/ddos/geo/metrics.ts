/** Metrics of the geo stage, on prom-client's global registry. */
import client from 'prom-client';

export const geoMetrics = {
  decisions: new client.Counter({
    name: 'bulwark_ddos_geo_decisions_total',
    help: 'Geo decisions by route, decision (allowed, denied) and country (ISO code, "unknown" or "other").',
    labelNames: ['route', 'decision', 'country'] as const,
  }),
};
