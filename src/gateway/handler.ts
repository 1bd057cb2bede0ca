/**
 * The request path: limits, request id, client address, route, request stages, body, origin, response stages,
 * log. Every early answer is a problem-details body with the request id. Synchronous stage verdicts keep the
 * whole path synchronous up to the origin dispatch.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { isBulwarkError } from '../errors.js';
import type { Outcome, Verdict, VerdictBody } from '../pipeline/index.js';
import { routingPath } from '../lib/path.js';
import { batchedCounter, log, metrics, type CountChild } from '../observability/index.js';
import { answerAfterPoll } from './answer-batch.js';
import { GatewayExchange } from './exchange.js';
import { requestCounter, writeAccessLog } from './exchange-log.js';
import { heldBody, inspectedBody, readSmallBody, REPLAYABLE_BODY_BYTES, VerdictError } from './proxy/body.js';
import { forward, type ForwardBody, type ForwardResult } from './proxy/forward.js';
import { sendProblem, sendVerdictProblem } from './proxy/problem-response.js';
import { createSink } from './proxy/response.js';
import { clientAddress, originRequestHeaders, requestIdFor } from './proxy/headers.js';
import {
  GATEWAY_ALLOW,
  h2AuthorityRefusal,
  maxForwards,
  parseAbsoluteTarget,
  transferCodingRefusal,
  VALID_HOST,
  viaEntry,
  viaLoops,
} from './proxy/message-rules.js';
import { normaliseHost } from './routes/router.js';
import type { RouteRuntime, Runtime } from './runtime.js';

export type ClientRequest = IncomingMessage | Http2ServerRequest;
export type ClientResponse = ServerResponse | Http2ServerResponse;
export { sendProblem };

export interface HandlerContext {
  runtime(): Runtime;
  /** While draining, HTTP/1.1 responses carry `Connection: close`. */
  isDraining(): boolean;
}

const NO_BODY = new Uint8Array(0);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

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

/** Counters by refusal reason, bound once: prom-client's labels() hashes its arguments on every call. */
const stageOutcomeCounters = new Map<string, CountChild>();
function stageOutcomeCounter(reason: string): CountChild {
  let counter = stageOutcomeCounters.get(reason);
  if (!counter) {
    const stage = reason.slice(0, reason.indexOf(':'));
    counter = batchedCounter(metrics.stageOutcomes, stage || reason, reason);
    // Reasons come from config (rule names), not from clients; the cap only guards against a stage that mints them.
    if (stageOutcomeCounters.size < 10_000) stageOutcomeCounters.set(reason, counter);
  }
  return counter;
}

export function createRequestHandler(ctx: HandlerContext) {
  /** `requestId`: when the listener decided it already (a watched body, see slow-guards.ts), else decided here. */
  return function handle(req: ClientRequest, res: ClientResponse, expectsContinue = false, requestId?: string): void {
    const rt = ctx.runtime();
    const started = performance.now();
    const socket = req.socket;
    const peer = socket.remoteAddress ?? '';
    const headers = req.headers;
    const peerTrusted = rt.trusted.size > 0 && rt.trusted.has(peer);
    const id = requestId ?? requestIdFor(headers['x-request-id'], peerTrusted);
    // Ask the request object, not the version: an HTTP/1 request line may claim "HTTP/2.0" (seen in CRS's suite).
    const isH2 = (req as Partial<Http2ServerRequest>).stream !== undefined;
    const draining = !isH2 && ctx.isDraining();
    const closeHeader = draining ? { connection: 'close' } : undefined;

    const target = req.url ?? '/';
    if (target.length > rt.uriBytes) {
      metrics.clientErrors.labels('414').inc();
      return sendProblem(res, 414, 'BWK_ERR_URI_TOO_LONG', `The request target exceeds ${rt.uriBytes} bytes.`, id, {
        connection: 'close',
      });
    }
    const scan = scanHeaders(req.rawHeaders);
    if (scan.bytes > rt.headerBytes) {
      metrics.clientErrors.labels('431').inc();
      return sendProblem(res, 431, 'BWK_ERR_HEADERS_TOO_LARGE', `Request headers exceed ${rt.headerBytes} bytes.`, id, {
        connection: 'close',
      });
    }
    if (!isH2 && (scan.hosts > 1 || (scan.hosts === 0 && req.httpVersionMinor === 1))) {
      metrics.clientErrors.labels('400').inc();
      return sendProblem(res, 400, 'BWK_ERR_BAD_REQUEST', 'HTTP/1.1 requests need exactly one Host header.', id, {
        connection: 'close',
      });
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
      return sendProblem(res, 400, 'BWK_ERR_BAD_REQUEST', refusal, id, { connection: 'close' });
    }
    const method = req.method ?? 'GET';
    if (headers['transfer-encoding'] !== undefined) {
      const framing = transferCodingRefusal(headers['transfer-encoding'], req.httpVersionMinor);
      if (framing) {
        metrics.clientErrors.labels(String(framing[0])).inc();
        return sendProblem(res, framing[0], framing[1], framing[2], id, { connection: 'close' });
      }
    }
    if (method === 'TRACE') {
      // RFC 9110 §9.3.8 lets a server refuse TRACE; a security gateway does, since an echo of the request hands
      // script its cookies and credentials back (cross-site tracing) and tells an attacker what the hops added.
      metrics.clientErrors.labels('405').inc();
      return sendProblem(res, 405, 'BWK_ERR_METHOD_NOT_ALLOWED', 'TRACE is not served by this gateway.', id, {
        allow: GATEWAY_ALLOW,
        ...closeHeader,
      });
    }
    if (headers.via !== undefined && viaLoops(headers.via)) {
      metrics.clientErrors.labels('508').inc();
      const detail = 'The request has already passed through this gateway too often: a forwarding loop.';
      return sendProblem(res, 508, 'BWK_ERR_GATEWAY_LOOP', detail, id, closeHeader);
    }

    let hostHeader = ((isH2 ? headers[':authority'] : undefined) as string | undefined) ?? headers.host ?? '';
    let pathPart = target;
    if (target.charCodeAt(0) !== 47 && target !== '*') {
      // absolute-form (RFC 9112 §3.2.2): the target's authority replaces Host; path and query go on as sent.
      const absolute = parseAbsoluteTarget(target, method);
      if (!absolute) {
        return sendProblem(res, 400, 'BWK_ERR_BAD_REQUEST', 'The request target is not valid.', id, closeHeader);
      }
      hostHeader = absolute.authority;
      pathPart = absolute.target;
    }
    if (pathPart === '*') {
      // asterisk-form (RFC 9110 §9.3.7) asks about the server itself, so the gateway answers; no origin involved.
      // 200 rather than 204: an OPTIONS answer without content must say Content-Length: 0, which 204 may not.
      if (method === 'OPTIONS') return answerOptions(res, id, closeHeader);
      return sendProblem(res, 400, 'BWK_ERR_BAD_REQUEST', 'The request target * is only valid with OPTIONS.', id, {
        connection: 'close',
      });
    }
    const q = pathPart.indexOf('?');
    const rawPath = q < 0 ? pathPart : pathPart.slice(0, q);
    const path = routingPath(rawPath);
    const host = normaliseHost(hostHeader);
    const route = rt.router.match(host, path, method);
    if (!route) {
      return sendProblem(res, 404, 'BWK_ERR_GATEWAY_NO_ROUTE', 'No route matches this request.', id, closeHeader);
    }

    const tls = (socket as TLSSocket).encrypted === true;
    const client = {
      address: clientAddress(peer, headers['x-forwarded-for'], rt.trusted),
      peer,
      tls,
      protocol: isH2 ? (tls ? 'h2' : 'h2c') : 'http/1.1',
    };
    const x = new GatewayExchange(id, route.name, client, {
      method,
      target,
      path,
      host,
      headers,
      rawHeaders: req.rawHeaders,
      httpVersion: req.httpVersion,
    });
    rt.inflight++;

    const result: ForwardResult = { attempts: 0 };
    let endedBy: string | undefined;
    let bytesOut = 0;
    let logged = false;
    const finish = () => {
      if (logged) return;
      logged = true;
      rt.inflight--;
      const status = res.headersSent ? res.statusCode : 499;
      const durationMs = performance.now() - started;
      const outcome: Outcome = {
        status,
        reason: endedBy,
        durationMs,
        bytesIn: Number(headers['content-length'] ?? 0),
        bytesOut,
        origin: result.origin?.url,
        attempts: result.attempts,
      };
      route.pipeline.onLog(x, outcome);
      requestCounter(route, status).inc();
      route.duration.observe(durationMs / 1000);
      if (rt.accessLog) writeAccessLog(rt, x, outcome, req);
    };

    const refuse = (v: Extract<Verdict, { kind: 'end' }>) => {
      endedBy = v.reason;
      stageOutcomeCounter(v.reason).inc();
      const hasBody = headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
      const close = (hasBody && !isH2) || draining;
      if (v.body) return sendOwnBody(res, v.status, v.body, id, v.headers, close);
      sendVerdictProblem(res, v, id, close);
    };

    const verdict = route.pipeline.onRequestHeaders(x);
    if (verdict instanceof Promise) {
      res.once('close', finish);
      verdict.then(
        (v) => (v.kind === 'end' ? refuse(v) : proceed()),
        (e: unknown) => fail(e),
      );
    } else if (verdict.kind === 'end') {
      // Written with the other refusals of this loop turn (answer-batch.ts), and logged there rather than on
      // 'close', which under a flood of refusals costs a listener and an event per request for nothing.
      answerAfterPoll(() => {
        try {
          // The client left while its answer waited: nothing to write, logged as 499.
          if (!res.destroyed) refuse(verdict);
        } catch (err) {
          res.destroy(); // a half-written answer cannot be finished; the batch logs the error
          throw err;
        } finally {
          finish(); // in every case: it also gives back the in-flight count that shedding reads
        }
      });
    } else {
      res.once('close', finish);
      proceed();
    }

    function fail(e: unknown) {
      if (e instanceof VerdictError) return refuse(e.verdict);
      if (isBulwarkError(e)) {
        endedBy = e.code;
        return sendProblem(res, e.status, e.code, e.message, id, { connection: 'close' });
      }
      log().error({ err: e, id, route: route!.name }, 'request failed');
      endedBy = 'BWK_ERR_STAGE_FAILED';
      sendProblem(res, 500, 'BWK_ERR_STAGE_FAILED', 'The gateway could not process this request.', id);
    }

    function proceed() {
      const r = route!;
      const cl = headers['content-length'];
      const length = cl === undefined ? -1 : Number(cl);
      // HTTP/2 has no Transfer-Encoding: a body without Content-Length is announced by HEADERS lacking END_STREAM.
      const chunked =
        headers['transfer-encoding'] !== undefined ||
        (isH2 && cl === undefined && !(req as Http2ServerRequest).stream.endAfterHeaders);
      if (length > r.bodyLimit) {
        metrics.clientErrors.labels('413').inc();
        endedBy = 'BWK_ERR_BODY_TOO_LARGE';
        return sendProblem(res, 413, 'BWK_ERR_BODY_TOO_LARGE', `The request body exceeds ${r.bodyLimit} bytes.`, id, {
          connection: 'close',
        });
      }
      if (expectsContinue) (res as ServerResponse).writeContinue();
      const pipeline = r.pipeline;
      const noBody = length === 0 || (length < 0 && !chunked);
      if (noBody && !pipeline.hasRequestBodyHooks) return send(r, null, true);
      if (noBody) {
        // Nothing to wait for: the body hooks see the empty body now, not after a trip through the request stream.
        const step = pipeline.onRequestBody(x, NO_BODY, true);
        if (step instanceof Promise) step.then((v) => (v.kind === 'end' ? refuse(v) : send(r, null, true)), fail);
        else if (step.kind === 'end') refuse(step);
        else send(r, null, true);
        return;
      }
      if (pipeline.holdsRequestBody) {
        heldBody(req, r.bodyLimit, x, pipeline).then((b) => send(r, b, true), fail);
      } else if (pipeline.hasRequestBodyHooks || length < 0) {
        send(r, inspectedBody(req, r.bodyLimit, x, pipeline.hasRequestBodyHooks ? pipeline : undefined), false);
      } else if (length <= REPLAYABLE_BODY_BYTES) {
        readSmallBody(req, length).then(
          (b) => send(r, b, true),
          () => res.destroy(),
        );
      } else send(r, req, false);
    }

    function send(r: RouteRuntime, body: ForwardBody, replayable: boolean) {
      let forwards: number | undefined;
      const mf = method === 'OPTIONS' ? headers['max-forwards'] : undefined;
      if (mf !== undefined) {
        // RFC 9110 §7.6.2: at 0 this gateway is the final recipient; otherwise the next hop gets one less.
        const n = maxForwards(typeof mf === 'string' ? mf : mf.join(','));
        if (n === 'invalid') return sendProblem(res, 400, 'BWK_ERR_BAD_REQUEST', 'Max-Forwards is not a number.', id);
        if (n === 0) return answerOptions(res, id, closeHeader);
        forwards = n - 1;
      }
      const outHeaders = originRequestHeaders(
        req.rawHeaders,
        {
          peer,
          peerTrusted,
          tls,
          host: hostHeader,
          requestId: id,
          via: viaEntry(req.httpVersion),
          maxForwards: forwards,
        },
        r.requestEdits,
      );
      const sink = createSink({
        route: r,
        res,
        x,
        closeHeader,
        countOut: (n) => (bytesOut += n),
        setReason: (reason) => (endedBy = reason),
      });
      forward(
        r.pool,
        {
          method,
          target: pathPart,
          headers: outHeaders,
          body,
          replayable,
          idempotent: IDEMPOTENT.has(method),
          connectTimeoutMs: r.connectTimeoutMs,
          firstByteTimeoutMs: r.firstByteTimeoutMs,
          idleTimeoutMs: r.idleTimeoutMs,
          maxAttempts: 1 + r.pool.maxRetries,
          // Read lazily from the streams' own state, only when an attempt failed: no listeners per request.
          clientFailed: () =>
            req.errored != null ||
            (req as IncomingMessage).aborted === true ||
            (!res.writableFinished && res.destroyed),
        },
        sink,
        result,
      );
    }
  };
}

/** The gateway's own answer to OPTIONS (asterisk-form, or Max-Forwards reached 0). */
function answerOptions(res: ClientResponse, id: string, extra: OutgoingHttpHeaders | undefined): void {
  const headers: OutgoingHttpHeaders = { allow: GATEWAY_ALLOW, 'content-length': 0, 'x-request-id': id };
  if (extra) for (const name in extra) headers[name] = extra[name];
  res.writeHead(200, headers).end();
}

/** A stage's own answer (the challenge page): its type and text, never cached, with the request id. */
function sendOwnBody(
  res: ClientResponse,
  status: number,
  body: VerdictBody,
  id: string,
  extra: OutgoingHttpHeaders | undefined,
  close: boolean,
) {
  if (res.headersSent) return void res.destroy();
  // Key by key, not a spread: see problemHeaders in ../problem.ts.
  const headers: OutgoingHttpHeaders = { 'cache-control': 'no-store' };
  if (extra) for (const name in extra) headers[name] = extra[name];
  if (close) headers.connection = 'close';
  headers['content-type'] = body.contentType;
  headers['content-length'] = Buffer.byteLength(body.text);
  headers['x-request-id'] = id;
  res.writeHead(status, headers);
  res.end(body.text);
}
