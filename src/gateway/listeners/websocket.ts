/**
 * WebSocket upgrades (RFC 6455 over HTTP/1.1): routed and checked by the request stages like any request, then
 * spliced to the origin as a byte stream. The origin's handshake answer flows back untouched.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { routingPath } from '../../lib/path.js';
import { log, metrics } from '../../observability/index.js';
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
    const connect = () => {
      const origin = route.pool.pick();
      if (!origin) return refuse(socket, 503, 'BWK_ERR_GATEWAY_NO_ORIGIN', 'No healthy origin is available.', id);
      const url = new URL(origin.url);
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      const upstream =
        url.protocol === 'https:'
          ? tls.connect({ host: url.hostname, port, servername: url.hostname })
          : net.connect({ host: url.hostname, port });
      upstream.setTimeout(route.connectTimeoutMs, () => upstream.destroy(new Error('connect timeout')));
      const headers = originRequestHeaders(
        req.rawHeaders,
        { peer, peerTrusted, tls: encrypted, host: hostHeader, requestId: id },
        route.requestEdits,
      );
      headers.push('connection', 'Upgrade', 'upgrade', 'websocket');
      let lines = `${req.method ?? 'GET'} ${target} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
      upstream.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
        upstream.setTimeout(route.idleTimeoutMs, () => {
          upstream.destroy();
          socket.destroy();
        });
        upstream.write(lines + '\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
        route.pool.report(origin, 'ok');
      });
      upstream.on('error', (err) => {
        if (!upstream.readableDidRead) {
          route.pool.report(origin, 'connect_failure');
          metrics.upstreamErrors.labels(route.pool.name, 'connect').inc();
          log().warn({ id, route: route.name, err: err.message }, 'websocket origin connect failed');
          refuse(socket, 502, 'BWK_ERR_GATEWAY_ORIGIN_CONNECT', 'The origin could not be reached.', id);
        } else socket.destroy();
      });
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    };

    const verdict = route.pipeline.onRequestHeaders(x);
    const decide = (v: Awaited<typeof verdict>) =>
      v.kind === 'end' ? refuse(socket, v.status, v.reason, v.detail ?? 'Refused.', id) : connect();
    if (verdict instanceof Promise)
      verdict.then(decide, () => refuse(socket, 500, 'BWK_ERR_STAGE_FAILED', 'The gateway failed.', id));
    else decide(verdict);
  };
}
