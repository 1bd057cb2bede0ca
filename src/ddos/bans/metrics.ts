/**
 * Ban metrics, on prom-client's global registry. In cluster mode every worker and the primary hold the whole
 * table, so the active gauge is aggregated with `max`; bans are counted only where they were made.
 */
import client from 'prom-client';

export const banMetrics = {
  active: new client.Gauge({
    name: 'bulwark_ddos_bans_active',
    help: 'Bans in force now (addresses and CIDRs).',
    aggregator: 'max',
  }),
  made: new client.Counter({
    name: 'bulwark_ddos_bans_total',
    help: 'Bans made, by source (manual, auto) and reason (manual, or the trip such as ratelimit:per-ip).',
    labelNames: ['source', 'reason'] as const,
  }),
  lifted: new client.Counter({
    name: 'bulwark_ddos_bans_lifted_total',
    help: 'Bans lifted before they expired (DELETE /v1/bans).',
  }),
  refused: new client.Counter({
    name: 'bulwark_ddos_bans_refused_total',
    help: 'Requests refused because their client is banned, by route.',
    labelNames: ['route'] as const,
  }),
  evicted: new client.Counter({
    name: 'bulwark_ddos_bans_evicted_total',
    help: 'Bans dropped early because the table was full (bans.max_entries).',
  }),
};
