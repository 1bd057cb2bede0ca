// A plain node:http app behind Bulwark's WAF (OWASP CRS, PL1, blocking). Run: node examples/waf-middleware/node-http.mjs
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { createWaf } from 'bulwark/waf';

export function createServer(options = {}) {
  const waf = createWaf(options);
  const app = (req, res) => {
    if (req.method === 'POST' && req.url === '/echo') {
      const parts = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.concat(parts)));
      return;
    }
    if (req.url === '/stream') {
      // Written in pieces, as a template engine or a proxy would: held until phase 4, then sent whole.
      res.setHeader('content-type', 'text/html');
      for (let i = 0; i < 5; i++) res.write(`<p>part ${i}</p>`);
      res.end('<p>done</p>');
      return;
    }
    if (req.url === '/json') {
      // Not an inspected type: streams as it is written.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items":[');
      res.end('1,2,3]}');
      return;
    }
    if (req.url === '/leak') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server</p>');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
  };
  return http.createServer((req, res) => waf(req, res, () => app(req, res)));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  createServer().listen(3000, '127.0.0.1', () => console.log('listening on http://127.0.0.1:3000'));
}
