/**
 * The front half of every request, HTTP/1.1, HTTP/2 and Upgrade alike: the listener's byte limits, the request
 * id, the Host rules, the target's form, the client address, the route, and the exchange the stages see.
 *
 * It writes nothing: a request it will not pass on comes back as an answer for the caller to write in its own
 * way (a response object for requests, raw bytes on the socket for an upgrade). So a request reaches the stages
 * by one path only, and a check added here holds for every protocol.
 */
import type { TLSSocket } from 'node:tls';
import type { ClientInfo, RequestHead } from '../pipeline/index.js';
import { routingPath } from '../lib/path.js';
import { metrics } from '../observability/index.js';
import { GatewayExchange } from './exchange.js';
import type { ClientRequest } from './messages.js';
import { clientAddress, requestIdFor } from './proxy/headers.js';
import {
  GATEWAY_ALLOW,
  h2AuthorityRefusal,
  parseAbsoluteTarget,
  transferCodingRefusal,
  VALID_HOST,
  viaLoops,
} from './proxy/message-rules.js';
import { normaliseHost } from './routes/router.js';
import type { RouteRuntime, Runtime } from './runtime.js';

/** A request the front half answers itself: a refusal, or the server's own `OPTIONS *`. */
export interface FrontAnswer {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly requestId: string;
  /** The request line or header block is in doubt: close the connection after the answer. */
  readonly close: boolean;
  /** The gateway's own answer to `OPTIONS *` (no problem body), not a refusal. */
  readonly options?: true;
  /** An Allow field to send (TRACE's 405). */
  readonly allow?: string;
}

/**
 * The prepared front half: the exchange itself, with what the gateway needs beside it. One object, so that
 * preparing a request allocates no more than building its exchange did.
 */
export class FrontHalf extends GatewayExchange {
  constructor(
    id: string,
    client: ClientInfo,
    request: RequestHead,
    readonly routeRuntime: RouteRuntime,
    /** The socket peer is a trusted proxy: its X-Forwarded-* and X-Request-Id are believed. */
    readonly peerTrusted: boolean,
    /** Host towards the origin: the absolute-form target's authority, else Host (or HTTP/2's :authority). */
    readonly authority: string,
    /** Target towards the origin: origin-form (an absolute-form target loses its scheme and authority). */
    readonly originTarget: string,
  ) {
    super(id, routeRuntime.name, client, request);
  }
}

/** Header block size, and how many Host headers it has (RFC 9112 §3.2: exactly one in HTTP/1.1). One pass. */
function scanHeaders(raw: readonly string[]): { bytes: number; hosts: number } {
  let bytes = 0;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    bytes += name.length + raw[i + 1]!.length + 4;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  return { bytes, hosts };
}

/** Why a request Node's parser accepted is still malformed for a gateway, or undefined. */
function malformed(req: ClientRequest, isH2: boolean, target: string, hosts: number): string | undefined {
  if (isH2) {
    if (target.includes('#')) return 'The request target must not carry a fragment (#).';
    // RFC 9113 §8.3.1: :path is origin-form (or * for OPTIONS); an absolute URI there is not a proxy request.
    if (target.charCodeAt(0) !== 47 && target !== '*') return 'The :path must start with "/".';
    const h = req.headers;
    const tls = (req.socket as TLSSocket).encrypted === true;
    return h2AuthorityRefusal(h[':authority'] as string | undefined, h.host, hosts, tls);
  }
  // Node reads `GET /` (no version) and `GET / HTTP/0.9` as HTTP/0.9; neither is served.
  if (req.httpVersionMajor !== 1) return 'Only HTTP/1.0 and HTTP/1.1 are served on this connection.';
  if (target.includes('#')) return 'The request target must not carry a fragment (#).';
  const host = req.headers.host;
  if (host !== undefined && !VALID_HOST.test(host)) return 'The Host header is not a valid host[:port].';
  return undefined;
}

function headerPairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

function answer(status: number, code: string, detail: string, requestId: string, close: boolean): FrontAnswer {
  return { status, code, detail, requestId, close };
}

/**
 * Checks a request and prepares its front half, or says how to answer it.
 * @param isH2 asked of the request object by the caller: an HTTP/1 request line may claim "HTTP/2.0"
 * @param requestId decided already by the listener (a watched body, see listeners/slow-guards.ts), else here
 */
export function prepareFront(
  rt: Runtime,
  req: ClientRequest,
  isH2: boolean,
  requestId: string | undefined,
): FrontHalf | FrontAnswer {
  const socket = req.socket;
  const peer = socket.remoteAddress ?? '';
  const headers = req.headers;
  const peerTrusted = rt.trusted.size > 0 && rt.trusted.has(peer);
  const id = requestId ?? requestIdFor(headers['x-request-id'], peerTrusted);

  const target = req.url ?? '/';
  if (target.length > rt.uriBytes) {
    metrics.clientErrors.labels('414').inc();
    return answer(414, 'BWK_ERR_URI_TOO_LONG', `The request target exceeds ${rt.uriBytes} bytes.`, id, true);
  }
  const scan = scanHeaders(req.rawHeaders);
  if (scan.bytes > rt.headerBytes) {
    metrics.clientErrors.labels('431').inc();
    return answer(431, 'BWK_ERR_HEADERS_TOO_LARGE', `Request headers exceed ${rt.headerBytes} bytes.`, id, true);
  }
  if (!isH2 && (scan.hosts > 1 || (scan.hosts === 0 && req.httpVersionMinor === 1))) {
    metrics.clientErrors.labels('400').inc();
    return answer(400, 'BWK_ERR_BAD_REQUEST', 'HTTP/1.1 requests need exactly one Host header.', id, true);
  }

  const refusal = malformed(req, isH2, target, scan.hosts);
  if (refusal) {
    metrics.clientErrors.labels('400').inc();
    rt.inspectRefused?.({
      requestId: id,
      method: req.method ?? '',
      target,
      protocol: `HTTP/${req.httpVersion}`,
      headers: headerPairs(req.rawHeaders),
      client: peer,
      status: 400,
      reason: refusal,
    });
    return answer(400, 'BWK_ERR_BAD_REQUEST', refusal, id, true);
  }

  const method = req.method ?? 'GET';
  if (headers['transfer-encoding'] !== undefined) {
    const framing = transferCodingRefusal(headers['transfer-encoding'], req.httpVersionMinor);
    if (framing) {
      metrics.clientErrors.labels(String(framing[0])).inc();
      return answer(framing[0], framing[1], framing[2], id, true);
    }
  }
  if (method === 'TRACE') {
    // RFC 9110 §9.3.8 lets a server refuse TRACE; a security gateway does, since an echo of the request hands
    // script its cookies and credentials back (cross-site tracing) and tells an attacker what the hops added.
    metrics.clientErrors.labels('405').inc();
    const detail = 'TRACE is not served by this gateway.';
    return {
      status: 405,
      code: 'BWK_ERR_METHOD_NOT_ALLOWED',
      detail,
      requestId: id,
      close: false,
      allow: GATEWAY_ALLOW,
    };
  }
  if (headers.via !== undefined && viaLoops(headers.via)) {
    metrics.clientErrors.labels('508').inc();
    const detail = 'The request has already passed through this gateway too often: a forwarding loop.';
    return answer(508, 'BWK_ERR_GATEWAY_LOOP', detail, id, false);
  }

  let authority = ((isH2 ? headers[':authority'] : undefined) as string | undefined) ?? headers.host ?? '';
  let originTarget = target;
  if (target.charCodeAt(0) !== 47 && target !== '*') {
    // absolute-form (RFC 9112 §3.2.2): the target's authority replaces Host; path and query go on as sent.
    const absolute = parseAbsoluteTarget(target, method);
    if (!absolute) return answer(400, 'BWK_ERR_BAD_REQUEST', 'The request target is not valid.', id, false);
    authority = absolute.authority;
    originTarget = absolute.target;
  }
  if (originTarget === '*') {
    // asterisk-form (RFC 9110 §9.3.7) asks about the server itself, so the gateway answers; no origin involved.
    if (method === 'OPTIONS') return { status: 200, code: '', detail: '', requestId: id, close: false, options: true };
    return answer(400, 'BWK_ERR_BAD_REQUEST', 'The request target * is only valid with OPTIONS.', id, true);
  }
  const q = originTarget.indexOf('?');
  const path = routingPath(q < 0 ? originTarget : originTarget.slice(0, q));
  const host = normaliseHost(authority);
  const route = rt.router.match(host, path, method);
  if (!route) return answer(404, 'BWK_ERR_GATEWAY_NO_ROUTE', 'No route matches this request.', id, false);

  const tls = (socket as TLSSocket).encrypted === true;
  const client = {
    address: clientAddress(peer, headers['x-forwarded-for'], rt.trusted),
    peer,
    tls,
    protocol: isH2 ? (tls ? 'h2' : 'h2c') : 'http/1.1',
  };
  const request = {
    method,
    target,
    path,
    host,
    headers,
    rawHeaders: req.rawHeaders,
    httpVersion: req.httpVersion,
  };
  return new FrontHalf(id, client, request, route, peerTrusted, authority, originTarget);
}
