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
