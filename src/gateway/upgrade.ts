/**
 * Requests Node hands over as upgrades. A WebSocket handshake (RFC 6455 over HTTP/1.1) goes through the same
 * front half as every request (front.ts), is checked by the request stages like any request, then spliced to
 * the origin as a byte stream; the origin's handshake answer flows back untouched. Any other upgrade without a
 * body is served as the plain request it also is, by the request handler. Every answer written here is raw bytes
 * on the socket, then closed: after an Upgrade request, the connection no longer belongs to Node's HTTP server.
 *
 * A routed upgrade is logged like a request (one access-log line, the pipeline's onLog once, the request counter):
 * a refusal when it is sent, with its status; a spliced one when the client's connection closes, with the
 * origin's status (101 when accepted) and the bytes each way. Upgrades the front half refuses (limits, Host,
 * target, no route) have no route to log under, as requests without one (handler.ts).
 */
import { randomUUID } from 'node:crypto';
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { isBulwarkError } from '../errors.js';
import type { Outcome } from '../pipeline/index.js';
import { log, metrics } from '../observability/index.js';
import { requestCounter, writeAccessLog } from './exchange-log.js';
import { FrontHalf, prepareFront } from './front.js';
import type { ClientRequest, ClientResponse } from './messages.js';
import { rawProblemResponse } from './problem.js';
import { originRequestHeaders } from './proxy/headers.js';
import type { Runtime } from './runtime.js';

function refuse(
  socket: Duplex,
  status: number,
  code: string,
  detail: string,
  requestId: string,
  extra?: OutgoingHttpHeaders,
): void {
  if (socket.writable) socket.end(rawProblemResponse({ status, code, detail, requestId }, extra));
  else socket.destroy();
}

/** A handshake the gateway splices: RFC 6455's GET, over HTTP/1.1 (RFC 9110 §7.8: HTTP/1.0 ignores Upgrade). */
function isWebSocketHandshake(req: IncomingMessage): boolean {
  return (
    req.method === 'GET' && req.httpVersionMinor === 1 && (req.headers.upgrade ?? '').toLowerCase() === 'websocket'
  );
}

/**
 * Why this upgrade request cannot go on, or undefined. Node never emits 'checkExpectation' (the listener's 417)
 * for an upgrade, and hands an upgrade's body over unparsed, as the first bytes of the raw stream: spliced, the
 * origin would read it by its own framing, unseen by the stages, and anything after it as a next request.
 */
function unserved(req: IncomingMessage, bodyLimit: number): [number, string, string] | undefined {
  const expect = req.headers.expect;
  if (expect !== undefined && expect.toLowerCase() !== '100-continue') {
    return [417, 'BWK_ERR_BAD_REQUEST', 'Only Expect: 100-continue is supported.'];
  }
  const cl = req.headers['content-length'];
  if (cl !== undefined && Number(cl) > bodyLimit) {
    return [413, 'BWK_ERR_BODY_TOO_LARGE', `The request body exceeds ${bodyLimit} bytes.`];
  }
  if ((cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined) {
    return [400, 'BWK_ERR_BAD_REQUEST', 'A request with Upgrade cannot carry a body here.'];
  }
  return undefined;
}

/**
 * An Upgrade the gateway does not act on (another protocol, another method, HTTP/1.0), served as the plain
 * request it also is: RFC 9110 §7.8 lets a server ignore Upgrade, and makes it in HTTP/1.0. Node has detached
 * its parser already, so the handler answers on a response bound to the socket by hand, which then closes.
 */
function serveAsRequest(req: IncomingMessage, socket: net.Socket, handle: RequestHandler): void {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  // Bound, the socket's close is the response's 'close', which the handler logs on.
  res.assignSocket(socket);
  res.once('finish', () => socket.destroySoon());
  handle(req, res);
}

/** `HTTP/1.1 101`: enough of the origin's answer to know whether it accepted. */
const STATUS_LINE_START = 12;

type RequestHandler = (req: ClientRequest, res: ClientResponse) => void;

export function createUpgradeHandler(runtime: () => Runtime, handle: RequestHandler) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const rt = runtime();
    const started = performance.now();
    socket.on('error', () => socket.destroy());
    if (!isWebSocketHandshake(req)) {
      // No route yet, so no body limit: any body is refused as one this path cannot read, not as too large.
      const wrong = unserved(req, Infinity);
      if (!wrong) return serveAsRequest(req, socket as net.Socket, handle);
      metrics.clientErrors.labels(String(wrong[0])).inc();
      return refuse(socket, wrong[0], wrong[1], wrong[2], randomUUID());
    }

    // A handshake is a GET, so the front half's one answer that is not a refusal (to OPTIONS *) never comes here.
    const x = prepareFront(rt, req, false, undefined);
    if (!(x instanceof FrontHalf)) return refuse(socket, x.status, x.code, x.detail, x.requestId);
    const { id, routeRuntime: route, peerTrusted, authority: hostHeader, originTarget } = x;
    const { peer, tls: encrypted } = x.client;
    let status = 0;
    let endedBy: string | undefined;
    let origin: string | undefined;
    let upstream: net.Socket | undefined;
    /** Bytes of the request head written to the origin: not the client's. */
    let headBytes = 0;
    let logged = false;
    const finish = () => {
      if (logged) return;
      logged = true;
      const durationMs = performance.now() - started;
      const outcome: Outcome = {
        // No answer from the origin before the client left: 499, as for requests.
        status: status || 499,
        reason: endedBy,
        durationMs,
        bytesIn: upstream ? Math.max(0, upstream.bytesWritten - headBytes) : 0,
        bytesOut: upstream?.bytesRead ?? 0,
        origin,
        attempts: origin === undefined ? 0 : 1,
      };
      route.pipeline.onLog(x, outcome);
      requestCounter(route, outcome.status).inc();
      route.duration.observe(durationMs / 1000);
      if (rt.accessLog) writeAccessLog(rt, x, outcome, req);
    };
    const end = (s: number, code: string, detail: string, extra?: OutgoingHttpHeaders) => {
      status = s;
      endedBy = code;
      refuse(socket, s, code, detail, id, extra);
      finish();
    };
    socket.once('close', finish);

    const wrong = unserved(req, route.bodyLimit);
    if (wrong) {
      metrics.clientErrors.labels(String(wrong[0])).inc();
      return end(...wrong);
    }

    const connect = () => {
      const picked = route.pool.pick();
      if (!picked) return end(503, 'BWK_ERR_GATEWAY_NO_ORIGIN', 'No healthy origin is available.');
      origin = picked.url;
      const url = new URL(picked.url);
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      const up: net.Socket =
        url.protocol === 'https:'
          ? tls.connect({ host: url.hostname, port, servername: url.hostname })
          : net.connect({ host: url.hostname, port });
      upstream = up;
      up.setTimeout(route.connectTimeoutMs, () => up.destroy(new Error('connect timeout')));
      const headers = originRequestHeaders(
        req.rawHeaders,
        { peer, peerTrusted, tls: encrypted, host: hostHeader, requestId: id },
        route.requestEdits,
      );
      headers.push('connection', 'Upgrade', 'upgrade', 'websocket');
      let lines = `GET ${originTarget} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
      lines += '\r\n';
      up.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
        up.setTimeout(route.idleTimeoutMs, () => {
          up.destroy();
          socket.destroy();
        });
        headBytes = Buffer.byteLength(lines);
        up.write(lines);
        // The client's bytes reach the origin only once it has accepted (101). Until then the connection is still
        // HTTP: an origin that refused the upgrade and kept the connection open would read the client's next
        // requests straight from the splice, unseen by the stages. A WebSocket client waits for the 101 anyway.
        let start: Buffer | undefined;
        const onStatusLine = (chunk: Buffer) => {
          start = start === undefined ? chunk : Buffer.concat([start, chunk]);
          if (start.length < STATUS_LINE_START) return;
          up.off('data', onStatusLine);
          // The origin's status, for the log too: 101 when it accepted, its refusal otherwise.
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(start.toString('latin1', 0, STATUS_LINE_START));
          if (m) status = Number(m[1]);
          else [status, endedBy] = [502, 'BWK_ERR_GATEWAY_ORIGIN_PROTOCOL'];
          if (status === 101) {
            if (head.length > 0) up.write(head);
            socket.pipe(up);
          } else {
            // Its answer still reaches the client; then the origin, seeing no more, closes, and so does the client's.
            up.end();
          }
        };
        up.on('data', onStatusLine);
        up.pipe(socket);
        route.pool.report(picked, 'ok');
      });
      up.on('error', (err) => {
        if (!up.readableDidRead) {
          route.pool.report(picked, 'connect_failure');
          metrics.upstreamErrors.labels(route.pool.name, 'connect').inc();
          log().warn({ id, route: route.name, err: err.message }, 'websocket origin connect failed');
          end(502, 'BWK_ERR_GATEWAY_ORIGIN_CONNECT', 'The origin could not be reached.');
        } else socket.destroy();
      });
      socket.on('close', () => up.destroy());
      up.on('close', () => socket.destroy());
    };

    const verdict = route.pipeline.onRequestHeaders(x);
    const decide = (v: Awaited<typeof verdict>) =>
      v.kind === 'end' ? end(v.status, v.reason, v.detail ?? 'Refused.', v.headers) : connect();
    if (verdict instanceof Promise) {
      // As the request handler's fail(): a stage's own error keeps its status, anything else is the gateway's.
      verdict.then(decide, (e: unknown) => {
        if (isBulwarkError(e)) return end(e.status, e.code, e.message);
        log().error({ err: e, id, route: route.name }, 'upgrade failed');
        end(500, 'BWK_ERR_STAGE_FAILED', 'The gateway could not process this request.');
      });
    } else decide(verdict);
  };
}
