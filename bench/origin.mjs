// The origin every scenario proxies to: GET / answers a ~600-byte page, POST /api reads the body and answers JSON.
// Usage: node bench/origin.mjs PORT WORKERS
import cluster from 'node:cluster';
import http from 'node:http';

const port = Number(process.argv[2] ?? 9100);
const workers = Number(process.argv[3] ?? 1);
const PAGE = Buffer.from(
  `<!doctype html><html><head><title>bench</title></head><body>${'<p>Bulwark benchmark page.</p>'.repeat(18)}</body></html>\n`,
);
const JSON_ANSWER = Buffer.from('{"ok":true,"id":12345,"status":"accepted"}');

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  http
    .createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      if (req.method === 'POST') {
        req.on('data', () => {});
        req.on('end', () =>
          res
            .writeHead(200, { 'content-type': 'application/json', 'content-length': JSON_ANSWER.length })
            .end(JSON_ANSWER),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': PAGE.length }).end(PAGE);
    })
    .listen(port, '127.0.0.1');
}
