/**
 * Requests the gateway refuses before routing (a method Node's parser does not know, bytes outside ASCII in the
 * request target, an HTTP version it cannot speak, an empty Host) are attacks as often as not. They never reach a
 * route's pipeline, so the WAF reads them here, with the configuration-wide profile, for the security event only:
 * the client has already been answered with 400.
 */
import { recordEvent } from '../observability/index.js';
import type { RefusedRequest } from '../pipeline/index.js';
import { maskSecrets } from './mask.js';
import { wafMetrics } from './metrics.js';
import { eventMatch, scores } from './stage.js';
import type { Waf } from './waf.js';

/** Runs phases 1, 2 (no body) and 5 over a refused request and records the event when anything matched. */
export function inspectRefused(waf: Waf, r: RefusedRequest): void {
  const profile = waf.profile(undefined);
  if (typeof profile === 'string' || profile.mode === 'off') return;
  const tx = waf.transaction(r.requestId, profile);
  const stopped = tx.processRequestHeaders({
    method: r.method,
    uri: r.target,
    protocol: r.protocol,
    headers: r.headers,
    clientAddress: r.client,
    clientPort: 0,
  });
  if (!stopped) tx.processRequestBody(undefined);
  tx.processLogging();
  wafMetrics.requests.labels('-', tx.matches.length ? 'refused' : 'passed').inc();
  if (tx.matches.length === 0 && tx.errors.length === 0) return;
  for (const m of tx.matches) wafMetrics.ruleMatches.labels(String(m.id), 'refused').inc();
  recordEvent({
    type: 'waf',
    request_id: r.requestId,
    route: '-',
    client: r.client,
    action: 'refused',
    method: r.method,
    uri: maskSecrets.uri(r.target),
    status: r.status,
    reason: r.reason,
    scores: scores(tx),
    matches: tx.matches.map(eventMatch),
    errors: tx.errors,
  });
}
