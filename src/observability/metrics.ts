/**
 * Prometheus metrics of the data plane, on prom-client's global registry so the primary can aggregate every
 * worker's registry (AggregatorRegistry) behind one /metrics. Children with known labels are created at load;
 * per request the gateway only increments, through batched children (batched.ts) on the request path.
 */
import client from 'prom-client';
import { BatchedHistogram } from './batched.js';

const { Counter, Gauge, register } = client;

export const metrics = {
  requests: new Counter({
    name: 'bulwark_gateway_requests_total',
    help: 'Requests answered, by route and status code.',
    labelNames: ['route', 'status'] as const,
  }),
  // Observed on every request: see batched.ts for why it is not prom-client's own Histogram.
  duration: new BatchedHistogram({
    name: 'bulwark_gateway_request_duration_seconds',
    help: 'Time from request headers received to response end, by route.',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  upstreamRetries: new Counter({
    name: 'bulwark_gateway_upstream_retries_total',
    help: 'Requests sent again to another origin, by pool and cause.',
    labelNames: ['pool', 'cause'] as const,
  }),
  upstreamErrors: new Counter({
    name: 'bulwark_gateway_upstream_errors_total',
    help: 'Failed attempts to reach an origin, by pool and kind.',
    labelNames: ['pool', 'kind'] as const,
  }),
  originHealthy: new Gauge({
    name: 'bulwark_gateway_origin_healthy',
    help: '1 when the origin takes traffic (healthy and not ejected), by pool, origin and zone.',
    labelNames: ['pool', 'origin', 'zone'] as const,
    aggregator: 'min',
  }),
  openConnections: new Gauge({
    name: 'bulwark_gateway_open_connections',
    help: 'Client connections open now, by listener.',
    labelNames: ['listener'] as const,
  }),
  stageOutcomes: new Counter({
    name: 'bulwark_pipeline_stage_outcomes_total',
    help: 'Requests a stage ended, by stage and reason; requests that pass are counted in requests_total.',
    labelNames: ['stage', 'reason'] as const,
  }),
  clientErrors: new Counter({
    name: 'bulwark_gateway_client_errors_total',
    help: 'Requests refused before routing (malformed, too large, too slow), by status.',
    labelNames: ['status'] as const,
  }),
  configReloads: new Counter({
    name: 'bulwark_config_reloads_total',
    help: 'Configuration reloads, by result.',
    labelNames: ['result'] as const,
  }),
};

export { register };

/** Collects Node's default process metrics under the bulwark_ prefix once per process. */
let defaultsOn = false;
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  client.collectDefaultMetrics({ prefix: 'bulwark_process_' });
}
