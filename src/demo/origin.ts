/**
 * The built-in demo origin, so `npm start` shows a working gateway with nothing else running. It answers a
 * small HTML page at /, JSON at /api/*, echoes request bodies at /echo, and has /healthz for health checks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const PAGE = `<!doctype html><html><head><title>Bulwark demo origin</title></head>
<body><h1>Bulwark demo origin</h1><p>This page came through the Bulwark gateway.</p></body></html>\n`;

export function startDemoOrigin(host: string, port: number): Promise<{ server: http.Server; address: AddressInfo }> {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url.startsWith('/echo')) {
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
      req.pipe(res);
    } else if (url.startsWith('/api/')) {
      req.resume();
      const body = JSON.stringify({ ok: true, method: req.method, path: url, request_id: req.headers['x-request-id'] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    } else {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(PAGE) });
      res.end(PAGE);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve({ server, address: server.address() as AddressInfo }));
  });
}
