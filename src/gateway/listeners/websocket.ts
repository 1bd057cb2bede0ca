/**
 * WebSocket upgrades (RFC 6455 over HTTP/1.1): routed and checked by the request stages like any request, then
 * spliced to the origin as a byte stream. The origin's handshake answer flows back untouched.
 *
 * A routed upgrade is logged like a request (one access-log line, the pipeline's onLog once, the request counter):
 * a refusal when it is sent, with its status; a spliced one when the client's connection closes, with the
 * origin's status (101 when accepted) and the bytes each way. Upgrades refused before routing (not WebSocket, no
 * route) have no route to log under, as requests without one (handler.ts).
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { routingPath } from '../../lib/path.js';
import type { Outcome } from '../../pipeline/index.js';
import { log, metrics } from '../../observability/index.js';
import { requestCounter, writeAccessLog } from '../exchange-log.js';
import { GatewayExchange } from '../exchange.js';
import { rawProblemResponse } from '../problem.js';
import { clientAddress, originRequestHeaders, requestIdFor } from '../proxy/headers.js';
import { normaliseHost } from '../routes/router.js';
import type { Runtime } from '../runtime.js';

function refuse(socket: Duplex, status: number, code: string, detail: string, requestId: string): void {
  if (socket.writable) socket.end(rawProblemResponse({ status, code, detail, requestId }));
  else socket.destroy();
}

export function createUpgradeHandler(runtime: () => Runtime) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const rt = runtime();
    const started = performance.now();
    const peer = req.socket.remoteAddress ?? '';
    const peerTrusted = rt.trusted.size > 0 && rt.trusted.has(peer);
    const id = requestIdFor(req.headers['x-request-id'], peerTrusted);
    socket.on('error', () => socket.destroy());

    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return refuse(socket, 400, 'BWK_ERR_BAD_REQUEST', 'Only WebSocket upgrades are proxied.', id);
    }
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = routingPath(q < 0 ? target : target.slice(0, q));
    const hostHeader = req.headers.host ?? '';
    const host = normaliseHost(hostHeader);
    const route = rt.router.match(host, path, req.method ?? 'GET');
    if (!route) return refuse(socket, 404, 'BWK_ERR_GATEWAY_NO_ROUTE', 'No route matches this request.', id);

    const encrypted = (req.socket as tls.TLSSocket).encrypted === true;
    const client = {
      address: clientAddress(peer, req.headers['x-forwarded-for'], rt.trusted),
      peer,
      tls: encrypted,
      protocol: 'http/1.1',
    };
    const x = new GatewayExchange(id, route.name, client, {
      method: req.method ?? 'GET',
      target,
      path,
      host,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      httpVersion: req.httpVersion,
    });
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
    const end = (s: number, code: string, detail: string) => {
      status = s;
      endedBy = code;
      refuse(socket, s, code, detail, id);
      finish();
    };
    socket.once('close', finish);

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
      let lines = `${req.method ?? 'GET'} ${target} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
      lines += '\r\n';
      up.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
        up.setTimeout(route.idleTimeoutMs, () => {
          up.destroy();
          socket.destroy();
        });
        headBytes = Buffer.byteLength(lines);
        up.write(lines);
        if (head.length > 0) up.write(head);
        // The origin's status line, for the log: 101 when it accepted, its refusal otherwise.
        up.once('data', (chunk: Buffer) => {
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 12));
          if (m) status = Number(m[1]);
          else [status, endedBy] = [502, 'BWK_ERR_GATEWAY_ORIGIN_PROTOCOL'];
        });
        up.pipe(socket);
        socket.pipe(up);
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
      v.kind === 'end' ? end(v.status, v.reason, v.detail ?? 'Refused.') : connect();
    if (verdict instanceof Promise) verdict.then(decide, () => end(500, 'BWK_ERR_STAGE_FAILED', 'The gateway failed.'));
    else decide(verdict);
  };
}
