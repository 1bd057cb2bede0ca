// A reflection backend doing what the CRS tests expect of the CRS project's "albedo": POST /reflect answers with
// the status, headers and body named in its JSON body; anything else gets 200 with a short text body.
import http from 'node:http';

const HTML_SIGNATURES = [
  '<!DOCTYPE HTML',
  '<HTML',
  '<HEAD',
  '<SCRIPT',
  '<IFRAME',
  '<H1',
  '<DIV',
  '<FONT',
  '<TABLE',
  '<A',
  '<STYLE',
  '<TITLE',
  '<B',
  '<BODY',
  '<BR',
  '<P',
  '<!--',
];

/** The text types of Go's http.DetectContentType, which is what albedo's responses carry. */
function sniffContentType(body) {
  let start = 0;
  while (start < body.length && [0x09, 0x0a, 0x0c, 0x0d, 0x20].includes(body[start])) start++;
  const trimmed = body.subarray(start, 512).toString('latin1');
  const upper = trimmed.toUpperCase();
  for (const sig of HTML_SIGNATURES) {
    const next = trimmed[sig.length];
    if (upper.startsWith(sig) && (next === ' ' || next === '>')) return 'text/html; charset=utf-8';
  }
  if (trimmed.startsWith('<?xml')) return 'text/xml; charset=utf-8';
  const binary = (b) => b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f);
  if (body.subarray(0, 512).some(binary)) return 'application/octet-stream';
  return 'text/plain; charset=utf-8';
}

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
        // albedo is written in Go, whose net/http sniffs a Content-Type when the handler sets none.
        if (body.length > 0 && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          headers['Content-Type'] = sniffContentType(body);
        }
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
