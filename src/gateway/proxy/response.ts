/**
 * The client side of a proxied response: response stages, header edits, streaming with backpressure, and the
 * honest failure modes. Stage verdicts may be promises: while one is pending, chunks queue in order and the
 * origin stream is paused. A stage that ends the response after its headers went out cannot change the status;
 * the stream is cut and the reason logged.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { isBulwarkError } from '../../errors.js';
import type { Step, Verdict } from '../../pipeline/index.js';
import { log, metrics } from '../../observability/index.js';
import type { GatewayExchange } from '../exchange.js';
import type { ClientResponse } from '../messages.js';
import type { RouteRuntime } from '../runtime.js';
import { VerdictError } from './body.js';
import type { FailureKind, ResponseSink } from './forward.js';
import { clientResponseHeaders, connectionListed, isHopByHop } from './headers.js';
import { sendProblem } from './problem-response.js';

const FAILURE_STATUS: Record<FailureKind, [number, string, string]> = {
  connect: [502, 'BWK_ERR_GATEWAY_ORIGIN_CONNECT', 'The origin could not be reached.'],
  reset: [502, 'BWK_ERR_GATEWAY_ORIGIN_CONNECT', 'The origin closed the connection.'],
  protocol: [502, 'BWK_ERR_GATEWAY_ORIGIN_PROTOCOL', 'The origin sent an invalid response.'],
  timeout: [504, 'BWK_ERR_GATEWAY_ORIGIN_TIMEOUT', 'The origin did not answer in time.'],
  no_origin: [503, 'BWK_ERR_GATEWAY_NO_ORIGIN', 'No healthy origin is available for this route.'],
  aborted: [502, 'BWK_ERR_GATEWAY_ORIGIN_CONNECT', 'The request to the origin was aborted.'],
  client: [400, 'BWK_ERR_BAD_REQUEST', 'The request could not be read or forwarded as sent.'],
};

export interface SinkContext {
  readonly route: RouteRuntime;
  readonly res: ClientResponse;
  readonly x: GatewayExchange;
  readonly closeHeader?: OutgoingHttpHeaders;
  countOut(n: number): void;
  setReason(reason: string): void;
}

type Ended = Extract<Verdict, { kind: 'end' }>;

export function createSink(c: SinkContext): ResponseSink {
  const { route, res, x } = c;
  const pipeline = route.pipeline;
  const bodyHooks = pipeline.hasResponseBodyHooks;
  let abortOrigin: (() => void) | undefined;
  let cut = false;
  /** Work waiting behind a pending verdict, in arrival order. */
  let chain: Promise<void> | undefined;
  let drainWaiter: (() => void) | undefined;
  // Tracked here rather than read from res: HTTP/2's compatibility response has no `destroyed` or
  // `writableFinished` to tell a finished response from a reset one.
  let ended = false;
  let clientGone = false;
  res.once('close', () => {
    if (ended) return;
    clientGone = true;
    abortOrigin?.();
  });

  const cutStream = (reason: string, why: string) => {
    if (cut) return;
    cut = true;
    c.setReason(reason);
    log().warn({ id: x.id, route: route.name, reason }, why);
    abortOrigin?.();
    res.destroy();
  };

  /** Runs `step` now when it is a value, or after the pending work when it is (or follows) a promise. */
  const sequence = (step: () => Step, then: (v: Verdict) => void): boolean => {
    if (!chain) {
      const v = step();
      if (!(v instanceof Promise)) {
        then(v);
        return true;
      }
      chain = v.then(then);
    } else {
      chain = chain.then(async () => then(await step()));
    }
    const mine = chain;
    void mine.then(
      () => {
        if (chain === mine) chain = undefined;
        const w = drainWaiter;
        drainWaiter = undefined;
        w?.();
      },
      (e: unknown) => cutStream('BWK_ERR_STAGE_FAILED', `response stage failed: ${String(e)}`),
    );
    return false;
  };

  /** The body held back while a stage decides (see Stage.responseHoldBytes); nothing has reached the client. */
  let held: { chunks: Uint8Array[]; bytes: number; limit: number } | undefined;
  const release = () => {
    const h = held!;
    held = undefined;
    res.writeHead(x.response!.status, x.response!.headers);
    for (const chunk of h.chunks) (res as ServerResponse).write(chunk);
  };
  const refuseHeld = (v: Ended) => {
    held = undefined;
    refuseHeaders(v);
  };

  const refuseHeaders = (v: Ended) => {
    ended = true;
    c.setReason(v.reason);
    metrics.stageOutcomes.labels(v.reason.split(':')[0] || v.reason, v.reason).inc();
    sendProblem(res, v.status, v.reason, v.detail, x.id);
    abortOrigin?.();
    cut = true;
  };

  return {
    start(status, originHeaders) {
      const headers = clientResponseHeaders(originHeaders, x.id, route.responseEdits);
      if (c.closeHeader) headers['connection'] = 'close';
      // RFC 9110 §8.6: no Content-Length on a 204, whatever the origin sent (Node passes it on as given).
      if (status === 204 && headers['content-length'] !== undefined) delete headers['content-length'];
      if (!pipeline.hasResponseHooks) {
        res.writeHead(status, headers);
        return true;
      }
      x.response = { status, headers };
      sequence(
        () => (pipeline.hasResponseHeaderHooks ? pipeline.onResponseHeaders(x) : { kind: 'continue' }),
        (v) => {
          if (v.kind === 'end') return refuseHeaders(v);
          const limit = bodyHooks ? pipeline.responseHoldBytes(x) : 0;
          if (limit > 0) held = { chunks: [], bytes: 0, limit };
          else res.writeHead(x.response!.status, x.response!.headers);
        },
      );
      return true;
    },
    interim(status, originHeaders) {
      sendInterim(res, x.request.httpVersion, status, originHeaders);
    },
    data(chunk) {
      if (cut) return true;
      c.countOut(chunk.length);
      if (!bodyHooks && !chain) return (res as ServerResponse).write(chunk);
      return sequence(
        () => (bodyHooks ? pipeline.onResponseBody(x, chunk, false) : { kind: 'continue' }),
        (v) => {
          if (cut) return;
          if (v.kind === 'end') {
            if (held) refuseHeld(v);
            else cutStream(v.reason, 'a stage ended the response after its headers were sent');
          } else if (held) {
            held.chunks.push(chunk);
            held.bytes += chunk.length;
            if (held.bytes > held.limit) release();
          } else (res as ServerResponse).write(chunk);
        },
      );
    },
    onDrain(resume) {
      if (chain) drainWaiter = resume;
      else res.once('drain', resume);
    },
    end() {
      sequence(
        () => (bodyHooks ? pipeline.onResponseBody(x, new Uint8Array(0), true) : { kind: 'continue' }),
        (v) => {
          if (cut) return;
          if (v.kind === 'end') {
            if (held) refuseHeld(v);
            else cutStream(v.reason, 'a stage ended the response after its headers were sent');
          } else {
            if (held) release();
            ended = true;
            res.end();
          }
        },
      );
    },
    fail(kind, error, started) {
      const [status, code, detail] = FAILURE_STATUS[kind];
      if (kind !== 'client') metrics.upstreamErrors.labels(route.pool.name, kind).inc();
      if (started || res.headersSent) {
        // Headers are out: the only honest signal left is to cut the stream. A client that went away is not news.
        if (kind !== 'client')
          log().warn({ id: x.id, route: route.name, err: error.message }, 'origin failed mid-response');
        res.destroy();
        return;
      }
      if (clientGone) return;
      ended = true;
      if (cut) return;
      if (isBulwarkError(error)) {
        c.setReason(error.code);
        return sendProblem(res, error.status, error.code, error.message, x.id, { connection: 'close' });
      }
      if (error instanceof VerdictError) {
        c.setReason(error.reason);
        return sendProblem(res, error.status, error.reason, error.detail, x.id, { connection: 'close' });
      }
      c.setReason(code);
      sendProblem(res, status, code, detail, x.id, kind === 'no_origin' ? { 'retry-after': '5' } : c.closeHeader);
    },
    onClientGone(abort) {
      abortOrigin = abort;
    },
    isClientGone() {
      return clientGone;
    },
  };
}

/**
 * Passes an origin's 1xx on (RFC 9110 §15.2), hop-by-hop fields dropped. Never to an HTTP/1.0 client, which has no
 * 1xx, nor once the final headers are out. HTTP/2 can carry any 1xx but 101; Node's HTTP/1.1 response can write
 * only 102 and 103, so other interim codes, unassigned today, are dropped there (docs/conformance.md).
 */
function sendInterim(
  res: ClientResponse,
  httpVersion: string,
  status: number,
  originHeaders: Record<string, string | string[] | undefined>,
): void {
  if (res.headersSent || httpVersion === '1.0' || status === 101) return;
  const listed = connectionListed(originHeaders['connection']);
  const fields: Record<string, string | string[]> = {};
  for (const name in originHeaders) {
    const value = originHeaders[name];
    if (value !== undefined && !isHopByHop(name, listed)) fields[name] = value;
  }
  try {
    const stream = (res as Partial<Http2ServerResponse>).stream;
    if (stream !== undefined) {
      if (!stream.destroyed) stream.additionalHeaders({ ...fields, ':status': status });
    } else if (status === 103) {
      // Node writes nothing without a Link field, the reason 103 exists.
      (res as ServerResponse).writeEarlyHints(fields);
    } else if (status === 102) (res as ServerResponse).writeProcessing();
  } catch (err) {
    // A field Node will not write (its Link check is stricter than the grammar): the hint is lost, not the answer.
    log().debug({ err, status }, 'interim response not passed on');
  }
}
