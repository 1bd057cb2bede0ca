// An Express app behind Bulwark's WAF (OWASP CRS, PL1, blocking). Run: node examples/waf-middleware/express.mjs
import express from 'express';
import { pathToFileURL } from 'node:url';
import { createWaf } from 'bulwark/waf';

export function createApp(options = {}) {
  const app = express();
  app.use(createWaf(options)); // before the body parsers: the WAF reads the body and hands it back untouched
  app.use(express.json());
  app.post('/echo', (req, res) => res.json(req.body));
  app.get('/leak', (req, res) =>
    res
      .type('html')
      .send('<p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server</p>'),
  );
  app.get('/', (req, res) => res.type('text').send('hello'));
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  createApp().listen(3000, '127.0.0.1', () => console.log('listening on http://127.0.0.1:3000'));
}
