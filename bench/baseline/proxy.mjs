// The baseline: a bare reverse proxy as a Node developer would write it with undici, no protections, no logs.
// Usage: node bench/baseline/proxy.mjs PORT ORIGIN_URL WORKERS
import cluster from 'node:cluster';
import http from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const [port, origin, workers] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4] ?? 2)];
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  const pool = new Pool(origin, { connections: 128 });
  http
    .createServer(async (req, res) => {
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
      try {
        const answer = await pool.request({
          path: req.url,
          method: req.method,
          headers,
          body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
        });
        for (const h of HOP) delete answer.headers[h];
        res.writeHead(answer.statusCode, answer.headers);
        pipeline(answer.body, res, () => {});
      } catch {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      }
    })
    .listen(port, '127.0.0.1');
}
