/**
 * Sends one request to an origin through undici's dispatcher and streams the answer to the client, with
 * backpressure both ways. Retries go to another origin when nothing has reached the client yet and the request
 * can be replayed: connect failures for any method whose body is in memory, and 502/503/504 or a reset for
 * idempotent methods, always within the pool's retry budget.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { OriginPool, Origin } from '../origins/index.js';

export type ForwardBody = Buffer | Readable | AsyncIterable<Uint8Array> | null;

export interface ForwardRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: string[];
  readonly body: ForwardBody;
  /** The body can be sent again (absent or held in memory). */
  readonly replayable: boolean;
  readonly idempotent: boolean;
  readonly connectTimeoutMs: number;
  readonly firstByteTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxAttempts: number;
  /** True once the client side failed (aborted, malformed body): such errors are never the origin's fault. */
  readonly clientFailed: () => boolean;
}

/** What the client side does with the origin's answer. Implemented by the handler. */
export interface ResponseSink {
  /** Returns false when the sink refused the response (a stage ended it); the forwarder then stops reading. */
  start(status: number, headers: Record<string, string | string[] | undefined>, origin: Origin): boolean;
  /** An interim (1xx) response from the origin, to pass on where the client's protocol allows it. */
  interim(status: number, headers: Record<string, string | string[] | undefined>): void;
  /** Returns false when the client is not draining; the forwarder pauses until `onDrain`. */
  data(chunk: Buffer): boolean;
  onDrain(resume: () => void): void;
  end(): void;
  /** The attempt failed. `started` tells whether response headers were already given to the client. */
  fail(kind: FailureKind, error: Error, started: boolean): void;
  /** Registers what to call if the client goes away mid-exchange. */
  onClientGone(abort: () => void): void;
  /** True once the client closed or reset its side before the response was finished. */
  isClientGone(): boolean;
}

/** `client`: the client's side failed (body over the limit, a stage refused the body); never the origin's fault. */
export type FailureKind = 'connect' | 'timeout' | 'reset' | 'protocol' | 'no_origin' | 'aborted' | 'client';

/**
 * Failures that prove the origin never saw the request: no connection was made. Only these are retried for any
 * method; a reset or closed socket may come after the request was written, so it is a 'reset', retried only for
 * idempotent methods (RFC 9112 §9.3.1: a proxy must not retry non-idempotent requests automatically).
 */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function classify(error: Error & { code?: string }): FailureKind {
  const code = error.code ?? '';
  // BWK_*: the client's body failed or a stage refused it. UND_ERR_INVALID_ARG: undici could not send what the
  // client asked for. Neither is the origin's fault, so neither may count towards ejecting it.
  if (code.startsWith('BWK_') || code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_CHAR') return 'client';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  if (code === 'UND_ERR_ABORTED' || error.name === 'AbortError') return 'aborted';
  if (CONNECT_CODES.has(code)) return 'connect';
  if (code.startsWith('HPE_') || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return 'protocol';
  return 'reset';
}

export interface ForwardResult {
  attempts: number;
  origin?: Origin;
}

export function forward(pool: OriginPool, req: ForwardRequest, sink: ResponseSink, result: ForwardResult): void {
  pool.noteRequest();
  attempt(pool, req, sink, result, undefined);
}

function attempt(pool: OriginPool, req: ForwardRequest, sink: ResponseSink, result: ForwardResult, tried?: Origin) {
  const origin = pool.pick(tried);
  if (!origin) {
    sink.fail('no_origin', new Error('no healthy origin'), false);
    return;
  }
  result.attempts++;
  result.origin = origin;
  origin.inflight++;
  let started = false;
  let settled = false;
  let controllerRef: Dispatcher.DispatchController | undefined;
  const settle = () => {
    if (!settled) {
      settled = true;
      origin.inflight--;
    }
  };
  const retry = (cause: string): boolean => {
    if (result.attempts >= req.maxAttempts || !req.replayable || !pool.canRetry()) return false;
    pool.noteRetry(cause);
    attempt(pool, req, sink, result, origin);
    return true;
  };

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(controller) {
      controllerRef = controller;
    },
    onResponseStart(controller, status, headers) {
      // RFC 9110 §15.2: a proxy forwards 1xx it did not ask for. (undici itself refuses an origin's 100: the
      // gateway never sends Expect, so a 100 can only be a broken origin; it ends as a 502.)
      if (status < 200) return sink.interim(status, headers as Record<string, string | string[] | undefined>);
      if (status > 599) {
        // RFC 9110 §15: outside 100-599 a status code is invalid; the client gets a 502, never the code itself.
        settle();
        controller.abort(new Error('invalid status code from the origin'));
        sink.fail('protocol', new Error(`the origin answered with status ${status}`), false);
        return;
      }
      const failedStatus = status === 502 || status === 503 || status === 504;
      pool.report(origin, status >= 500 ? '5xx' : 'ok');
      if (failedStatus && req.idempotent && result.attempts < req.maxAttempts && req.replayable && pool.canRetry()) {
        settle();
        controller.abort(new Error('retrying on another origin'));
        pool.noteRetry(String(status));
        attempt(pool, req, sink, result, origin);
        return;
      }
      started = true;
      if (!sink.start(status, headers as Record<string, string | string[] | undefined>, origin)) {
        settle();
        controller.abort(new Error('response refused by a stage'));
      }
    },
    onResponseData(controller, chunk) {
      if (settled) return;
      if (!sink.data(chunk)) {
        controller.pause();
        sink.onDrain(() => controller.resume());
      }
    },
    onResponseEnd() {
      if (settled) return;
      settle();
      sink.end();
    },
    onResponseError(_controller, error) {
      if (settled) return;
      settle();
      const kind = req.clientFailed() || sink.isClientGone() ? 'client' : classify(error);
      if (kind === 'aborted') return;
      if (kind === 'client') {
        sink.fail(kind, error, started);
        return;
      }
      if (kind === 'connect' || kind === 'reset') pool.report(origin, 'connect_failure');
      else if (kind === 'timeout') pool.report(origin, 'timeout');
      if (!started) {
        // A connect failure means the origin saw nothing: safe to replay whatever the method.
        const safe = kind === 'connect' || (req.idempotent && (kind === 'reset' || kind === 'timeout'));
        if (safe && retry(kind)) return;
      }
      sink.fail(kind, error, started);
    },
  };

  sink.onClientGone(() => {
    if (!settled) {
      settle();
      controllerRef?.abort(new Error('client closed the connection'));
    }
  });

  origin.dispatcherFor(req.connectTimeoutMs).dispatch(
    {
      path: req.target,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body as Dispatcher.DispatchOptions['body'],
      headersTimeout: req.firstByteTimeoutMs,
      bodyTimeout: req.idleTimeoutMs,
      idempotent: req.idempotent,
    },
    handler,
  );
}
