/**
 * The request path: the front half (front.ts: limits, request id, Host, target, client address, route), then
 * request stages, body, origin, response stages, log. Every early answer is a problem-details body with the
 * request id. Synchronous stage verdicts keep the whole path synchronous up to the origin dispatch.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { isBulwarkError } from '../errors.js';
import type { Outcome, Verdict, VerdictBody } from '../pipeline/index.js';
import { batchedCounter, log, metrics, type CountChild } from '../observability/index.js';
import { answerAfterPoll } from './answer-batch.js';
import { requestCounter, writeAccessLog } from './exchange-log.js';
import { FrontHalf, prepareFront, type FrontAnswer } from './front.js';
import type { ClientRequest, ClientResponse } from './messages.js';
import { heldBody, inspectedBody, readSmallBody, REPLAYABLE_BODY_BYTES, VerdictError } from './proxy/body.js';
import { forward, type ForwardBody, type ForwardResult } from './proxy/forward.js';
import { sendProblem, sendVerdictProblem } from './proxy/problem-response.js';
import { createSink } from './proxy/response.js';
import { originRequestHeaders } from './proxy/headers.js';
import { GATEWAY_ALLOW, maxForwards, viaEntry } from './proxy/message-rules.js';
import type { RouteRuntime, Runtime } from './runtime.js';

export interface HandlerContext {
  runtime(): Runtime;
  /** While draining, HTTP/1.1 responses carry `Connection: close`. */
  isDraining(): boolean;
}

const NO_BODY = new Uint8Array(0);
const CLOSE: OutgoingHttpHeaders = Object.freeze({ connection: 'close' });
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

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
    // Ask the request object, not the version: an HTTP/1 request line may claim "HTTP/2.0" (seen in CRS's suite).
    const isH2 = (req as Partial<Http2ServerRequest>).stream !== undefined;
    const draining = !isH2 && ctx.isDraining();
    const closeHeader = draining ? CLOSE : undefined;

    const front = prepareFront(rt, req, isH2, requestId);
    // HTTP/2 has no Connection header (Node drops it with a process warning): the stream ends, the session stays.
    if (!(front instanceof FrontHalf)) return answerFront(res, front, !isH2 && (front.close || draining));
    const x = front;
    const { id, routeRuntime: route, peerTrusted, authority: hostHeader, originTarget: pathPart } = x;
    const { method, headers } = x.request;
    const { peer, tls } = x.client;
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

/** What the front half answered itself: a problem, or the gateway's own answer to `OPTIONS *`. */
function answerFront(res: ClientResponse, a: FrontAnswer, close: boolean): void {
  if (a.options) return answerOptions(res, a.requestId, close ? CLOSE : undefined);
  let extra: OutgoingHttpHeaders | undefined = close ? CLOSE : undefined;
  if (a.allow !== undefined) extra = close ? { allow: a.allow, connection: 'close' } : { allow: a.allow };
  sendProblem(res, a.status, a.code, a.detail, a.requestId, extra);
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
