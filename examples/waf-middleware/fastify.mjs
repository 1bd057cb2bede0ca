// A Fastify app behind Bulwark's WAF (OWASP CRS, PL1, blocking). Run: node examples/waf-middleware/fastify.mjs
import Fastify from 'fastify';
import { pathToFileURL } from 'node:url';
import { createWaf } from 'bulwark/waf';

export async function createApp(options = {}) {
  const app = Fastify();
  await app.register(createWaf(options).fastify);
  app.post('/echo', async (request) => request.body);
  app.get('/leak', async (request, reply) =>
    reply
      .type('text/html')
      .send('<p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server</p>'),
  );
  app.get('/', async (request, reply) => reply.type('text/plain').send('hello'));
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await createApp();
  await app.listen({ port: 3000, host: '127.0.0.1' });
  console.log('listening on http://127.0.0.1:3000');
}
