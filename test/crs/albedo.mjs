// A reflection backend doing what the CRS tests expect of the CRS project's "albedo": POST /reflect answers with
// the status, headers and body named in its JSON body; anything else gets 200 with a short text body.
import http from 'node:http';

export function startAlbedo({ port = 0 } = {}) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.startsWith('/reflect')) {
        let spec = {};
        try {
          spec = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        } catch {
          spec = {};
        }
        const body = spec.encodedBody ? Buffer.from(spec.encodedBody, 'base64') : Buffer.from(spec.body ?? '', 'utf8');
        const headers = { ...(spec.headers ?? {}) };
        res.writeHead(Number(spec.status) || 200, { 'content-length': body.length, ...headers });
        res.end(body);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    });
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({ port: server.address().port, close: () => new Promise((r) => server.close(() => r())) }),
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { port } = await startAlbedo({ port: Number(process.argv[2] ?? 8085) });
  console.log(`albedo on 127.0.0.1:${port}`);
}
