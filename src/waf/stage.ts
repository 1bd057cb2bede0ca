/**
 * The WAF on the gateway's pipeline: phase 1 on request headers, phase 2 on the held request body, phase 3 on
 * response headers, phase 4 on the response body (held back from the client and inspected up to the limit, so a
 * block replaces the whole response), phase 5 and the security event when the exchange is logged.
 */
import { CONTINUE, end, type Exchange, type Outcome, type Stage, type Step } from '../pipeline/index.js';
import { batchedCounter, recordEvent, type CountChild } from '../observability/index.js';
import type { Interruption, MatchRecord } from './engine/evaluate.js';
import type { Transaction } from './engine/transaction.js';
import { maskSecrets } from './mask.js';
import { wafMetrics } from './metrics.js';
import type { Waf, WafProfile } from './waf.js';

const KEY = Symbol('waf');

interface State {
  readonly tx: Transaction;
  response: Buffer[];
  responseBytes: number;
  /** Phase 4 has run. */
  inspected?: boolean;
}

const BLOCKED_DETAIL = 'The request was blocked by the web application firewall.';

type RequestOutcome = 'passed' | 'detected' | 'blocked';

export class WafStage implements Stage {
  readonly name = 'waf';
  readonly holdsRequestBody: boolean;
  /** Per route, the request counters by outcome, bound once (labels() would hash its values on every request). */
  private readonly counters = new Map<string, Record<RequestOutcome, CountChild>>();

  constructor(
    private readonly waf: Waf,
    private readonly profile: WafProfile,
  ) {
    this.holdsRequestBody = profile.mode !== 'off' && waf.ruleSet.settings.requestBodyAccess;
  }

  onRequestHeaders(x: Exchange): Step {
    if (this.profile.mode === 'off') return CONTINUE;
    const tx = this.waf.transaction(x.id, this.profile);
    x.notes.set(KEY, { tx, response: [], responseBytes: 0 } satisfies State);
    const isH2 = x.request.httpVersion.startsWith('2');
    return verdict(
      tx.processRequestHeaders({
        method: x.request.method,
        uri: x.request.target,
        protocol: `HTTP/${x.request.httpVersion}`,
        headers: headerPairs(x.request.rawHeaders, isH2, x.request.host),
        clientAddress: x.client.address,
        clientPort: 0,
      }),
    );
  }

  onRequestBody(x: Exchange, chunk: Uint8Array, last: boolean): Step {
    const state = x.notes.get(KEY) as State | undefined;
    if (!state || !last) return CONTINUE;
    const settings = this.waf.ruleSet.settings;
    const body = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const multipart = state.tx.bodyProcessor === 'MULTIPART';
    const limit = multipart
      ? settings.requestBodyLimit
      : Math.min(settings.requestBodyNoFilesLimit, settings.requestBodyLimit);
    let inspected = body;
    if (body.length > limit) {
      if (settings.requestBodyLimitAction === 'reject' && state.tx.mode === 'on') {
        return end(413, 'waf:body_too_large', `The request body exceeds the ${limit} bytes the WAF inspects.`);
      }
      inspected = body.subarray(0, limit);
      x.annotations['waf_body_truncated'] = String(limit);
    }
    return verdict(state.tx.processRequestBody(inspected.toString('latin1')));
  }

  onResponseHeaders(x: Exchange): Step {
    const state = x.notes.get(KEY) as State | undefined;
    if (!state || !x.response) return CONTINUE;
    const headers: [string, string][] = [];
    for (const [name, value] of Object.entries(x.response.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.push([name, String(v)]);
    }
    const protocol = `HTTP/${x.request.httpVersion}`;
    return verdict(state.tx.processResponseHeaders({ status: x.response.status, protocol, headers }));
  }

  /** Inspected bodies are held (up to the inspection limit) so that phase 4 can still replace the response. */
  responseHoldBytes(x: Exchange): number {
    const state = x.notes.get(KEY) as State | undefined;
    return state?.tx.wantsResponseBody() ? this.waf.ruleSet.settings.responseBodyLimit : 0;
  }

  onResponseBody(x: Exchange, chunk: Uint8Array, last: boolean): Step {
    const state = x.notes.get(KEY) as State | undefined;
    if (!state || state.inspected) return CONTINUE;
    const tx = state.tx;
    if (!tx.wantsResponseBody()) {
      if (!last) return CONTINUE;
      state.inspected = true;
      return verdict(tx.processResponseBody(undefined));
    }
    const limit = this.waf.ruleSet.settings.responseBodyLimit;
    if (state.responseBytes < limit && chunk.byteLength > 0) {
      const take = Math.min(chunk.byteLength, limit - state.responseBytes);
      state.response.push(Buffer.from(chunk.buffer, chunk.byteOffset, take));
      state.responseBytes += take;
    }
    // Phase 4 runs at the end of the body or as soon as the limit is reached (the gateway still holds it all).
    if (!last && state.responseBytes < limit) return CONTINUE;
    const body = Buffer.concat(state.response, state.responseBytes).toString('latin1');
    state.response = [];
    state.inspected = true;
    return verdict(tx.processResponseBody(body));
  }

  onLog(x: Exchange, outcome: Outcome): void {
    const state = x.notes.get(KEY) as State | undefined;
    if (!state) return;
    const tx = state.tx;
    tx.processLogging();
    const blocked = tx.interruption !== undefined;
    this.countRequest(x.route, blocked ? 'blocked' : tx.matches.length ? 'detected' : 'passed');
    if (tx.matches.length === 0 && tx.errors.length === 0 && !blocked) return;
    const action = blocked ? 'blocked' : 'detected';
    for (const m of tx.matches) wafMetrics.ruleMatches.labels(String(m.id), action).inc();
    recordEvent({
      type: 'waf',
      request_id: x.id,
      route: x.route,
      client: x.client.address,
      action,
      method: x.request.method,
      uri: maskSecrets.uri(x.request.target),
      status: outcome.status,
      rule: tx.interruption?.ruleId,
      scores: scores(tx),
      matches: tx.matches.map(eventMatch),
      errors: tx.errors,
    });
  }

  private countRequest(route: string, outcome: RequestOutcome): void {
    let byOutcome = this.counters.get(route);
    if (!byOutcome) {
      const child = (o: RequestOutcome) => batchedCounter(wafMetrics.requests, route, o);
      byOutcome = { passed: child('passed'), detected: child('detected'), blocked: child('blocked') };
      this.counters.set(route, byOutcome);
    }
    byOutcome[outcome].inc();
  }
}

/**
 * Request headers as the engine reads them: (name, value) pairs in arrival order. HTTP/2 pseudo-headers are left
 * out and `:authority` becomes the Host header CRS expects (920280 flags a request without one).
 */
export function headerPairs(raw: readonly string[], http2: boolean, host?: string): [string, string][] {
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (http2 && raw[i]!.startsWith(':')) continue;
    headers.push([raw[i]!, raw[i + 1]!]);
  }
  if (http2 && host && !headers.some(([n]) => n.toLowerCase() === 'host')) headers.push(['Host', host]);
  return headers;
}

function verdict(i: Interruption | undefined): Step {
  if (!i) return CONTINUE;
  return end(i.status, 'waf:blocked', BLOCKED_DETAIL, i.location ? { location: i.location } : undefined);
}

export function scores(tx: Transaction): Record<string, number> {
  const get = (k: string) => Number(tx.txStore.get(k) ?? 0) || 0;
  return {
    inbound: get('blocking_inbound_anomaly_score'),
    outbound: get('blocking_outbound_anomaly_score'),
  };
}

const MAX_VALUE = 200;

export function eventMatch(m: MatchRecord) {
  return {
    id: m.id,
    phase: m.phase,
    msg: m.msg,
    data: maskSecrets.text(m.variable, m.data).slice(0, MAX_VALUE * 2),
    severity: m.severity,
    variable: m.variable,
    value: maskSecrets.text(m.variable, m.value).slice(0, MAX_VALUE),
    disruptive: m.disruptive,
  };
}
