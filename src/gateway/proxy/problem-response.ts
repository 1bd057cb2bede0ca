/** Writing a problem-details answer on a response object (the raw-socket form lives in ../problem.ts). */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Verdict } from '../../pipeline/index.js';
import type { ClientResponse } from '../handler.js';
import { problemBody, problemBodyBefore, problemHeaders } from '../problem.js';

export function sendProblem(
  res: ClientResponse,
  status: number,
  code: string,
  detail: string | undefined,
  requestId: string,
  extra?: OutgoingHttpHeaders,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody({ status, code, detail, requestId });
  res.writeHead(status, problemHeaders(body, requestId, extra));
  res.end(body);
}

type EndVerdict = Extract<Verdict, { kind: 'end' }>;

/**
 * The body of a verdict up to its request id, kept as long as the verdict object lives. Stages that refuse a
 * flood return the same frozen verdict object again and again (see the ratelimit stage), so the JSON is built once.
 */
const bodyBefore = new WeakMap<EndVerdict, string>();

/** A stage's refusal as problem details: the verdict's own headers, then the problem's. */
export function sendVerdictProblem(res: ClientResponse, v: EndVerdict, requestId: string, close: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Only a frozen verdict says it will be seen again; caching one-off verdicts would only grow the map.
  let before = bodyBefore.get(v);
  if (before === undefined) {
    before = problemBodyBefore(v.status, v.reason, v.detail);
    if (Object.isFrozen(v)) bodyBefore.set(v, before);
  }
  const body = before + JSON.stringify(requestId) + '}';
  const headers: OutgoingHttpHeaders = {};
  const own = v.headers;
  if (own) for (const name in own) headers[name] = own[name];
  if (close) headers.connection = 'close';
  headers['content-type'] = 'application/problem+json';
  headers['content-length'] = Buffer.byteLength(body);
  headers['cache-control'] = 'no-store';
  headers['x-request-id'] = requestId;
  res.writeHead(v.status, headers);
  res.end(body);
}
