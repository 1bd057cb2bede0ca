/**
 * What every finished exchange leaves behind, shared by the request handler (handler.ts) and WebSocket upgrades
 * (upgrade.ts): the per-route request counter and the access-log line.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Outcome } from '../pipeline/index.js';
import { batchedCounter, isoNow, metrics, type CountChild } from '../observability/index.js';
import type { GatewayExchange } from './exchange.js';
import type { RouteRuntime, Runtime } from './runtime.js';

/** bulwark_requests_total{route,status}, bound once per route and status (labels() hashes on every call). */
export function requestCounter(route: RouteRuntime, status: number): CountChild {
  let counter = route.countByStatus.get(status);
  if (!counter) {
    counter = batchedCounter(metrics.requests, route.name, String(status));
    route.countByStatus.set(status, counter);
  }
  return counter;
}

/** One JSON line per exchange; `fields` picks what is written. Call only when `rt.accessLog` is set. */
export function writeAccessLog(
  rt: Runtime,
  x: GatewayExchange,
  o: Outcome,
  req: { readonly headers: IncomingHttpHeaders },
): void {
  // JSON.stringify of a fresh literal is V8's fast path: a hand-built string measured slower (~1.3 µs vs ~1 µs).
  const all: Record<string, unknown> = {
    time: isoNow(),
    id: x.id,
    route: x.route,
    client: x.client.address,
    method: x.request.method,
    host: x.request.host,
    path: x.request.path,
    status: o.status,
    duration_ms: Math.round(o.durationMs * 1000) / 1000,
    bytes_in: o.bytesIn,
    bytes_out: o.bytesOut,
    origin: o.origin,
    attempts: o.attempts,
    reason: o.reason,
    user_agent: req.headers['user-agent'],
    protocol: x.client.protocol,
  };
  if (x.hasAnnotations) all.annotations = x.annotations;
  if (rt.accessFields) {
    // Every line starts with its time, whether or not `fields` names it.
    const picked: Record<string, unknown> = { time: all.time };
    for (const f of rt.accessFields) if (f !== 'time') picked[f] = all[f];
    rt.accessLog!.write(picked);
  } else rt.accessLog!.write(all);
}
