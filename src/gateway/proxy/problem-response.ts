/** Writing a problem-details answer on a response object (the raw-socket form lives in ../problem.ts). */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Verdict } from '../../pipeline/index.js';
import type { ClientResponse } from '../messages.js';
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

/** What every answer to one verdict shares: the body up to the request id, its bytes, the verdict's own headers. */
interface PreparedVerdict {
  readonly before: string;
  readonly beforeBytes: number;
  /** Name, value, name, value: the flat list writeHead takes (HTTP/1 and the HTTP/2 compatibility API alike). */
  readonly ownHeaders: readonly string[];
}

function prepare(v: EndVerdict): PreparedVerdict {
  const before = problemBodyBefore(v.status, v.reason, v.detail);
  const ownHeaders: string[] = [];
  const own = v.headers;
  if (own) {
    for (const name in own) {
      const value = own[name];
      if (Array.isArray(value)) for (const one of value) ownHeaders.push(name, one);
      else if (value !== undefined) ownHeaders.push(name, String(value));
    }
  }
  return { before, beforeBytes: Buffer.byteLength(before), ownHeaders };
}

/**
 * Kept as long as the verdict object lives. Stages that refuse a flood return the same frozen verdict object again
 * and again (see the ratelimit stage), so its body and headers are prepared once. Under a flood (perf, Node 20),
 * copying the verdict's headers into a fresh object per answer took megamorphic stores, and measuring the whole
 * body's length flattened it: together about 1% of a refusal.
 */
const preparedVerdicts = new WeakMap<EndVerdict, PreparedVerdict>();

/** A stage's refusal as problem details: the verdict's own headers, then the problem's. */
export function sendVerdictProblem(res: ClientResponse, v: EndVerdict, requestId: string, close: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  let p = preparedVerdicts.get(v);
  if (p === undefined) {
    p = prepare(v);
    // Only a frozen verdict says it will be seen again; caching one-off verdicts would only grow the map.
    if (Object.isFrozen(v)) preparedVerdicts.set(v, p);
  }
  const id = JSON.stringify(requestId);
  const headers = p.ownHeaders.slice();
  if (close) headers.push('connection', 'close');
  headers.push(
    'content-type',
    'application/problem+json',
    'content-length',
    String(p.beforeBytes + Buffer.byteLength(id) + 1),
    'cache-control',
    'no-store',
    'x-request-id',
    requestId,
  );
  // Typed for ServerResponse: Node 20 and 24 take the flat list on HTTP/2's compatibility response as well
  // (h2-tls.test.ts checks a refusal over h2), though @types/node declares only the object form there.
  (res as ServerResponse).writeHead(v.status, headers);
  res.end(p.before + id + '}');
}
