// createWaf from 'bulwark/waf' in front of the three example apps (node:http, Express, Fastify), over real sockets:
// benign requests pass with their bodies intact, attacks in the query and in a JSON body get 403 with a problem
// body holding the request id, a response leaking an SQL error is held and replaced before any byte leaves, and
// each block is one security event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { locateCrs } from '../dist/waf/index.js';
import { createServer } from '../examples/waf-middleware/node-http.mjs';
import { createApp as createExpress } from '../examples/waf-middleware/express.mjs';
import { createApp as createFastify } from '../examples/waf-middleware/fastify.mjs';

const crs = locateCrs(undefined, process.cwd());
const events = [];
const options = { onEvent: (e) => events.push(e) };
const servers = {};

before(async () => {
  if (!crs.ok) return;
  const listen = (server) =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
  servers['node:http'] = { server: createServer(options) };
  servers['node:http'].url = await listen(servers['node:http'].server);
  servers.express = { server: createExpress(options).listen(0, '127.0.0.1') };
  await new Promise((r) => servers.express.server.once('listening', r));
  servers.express.url = `http://127.0.0.1:${servers.express.server.address().port}`;
  const fastify = await createFastify(options);
  servers.fastify = { url: await fastify.listen({ port: 0, host: '127.0.0.1' }), close: () => fastify.close() };
});

after(async () => {
  for (const s of Object.values(servers)) {
    if (s.close) await s.close();
    else await new Promise((r) => s.server.close(r));
  }
});

for (const name of ['node:http', 'express', 'fastify']) {
  test(
    `${name}: benign requests pass, attacks get 403 with the request id, leaks are held back`,
    { skip: !crs.ok && 'no CRS release found' },
    async () => {
      const { url } = servers[name];
      const hello = await fetch(`${url}/?q=hello`);
      assert.equal(hello.status, 200);
      assert.equal(await hello.text(), 'hello');

      const before = events.length;
      const sqli = await fetch(`${url}/?id=1%27%20OR%20%271%27=%271`);
      assert.equal(sqli.status, 403);
      assert.match(sqli.headers.get('content-type'), /application\/problem\+json/);
      const problem = await sqli.json();
      assert.equal(problem.status, 403);
      assert.ok(problem.request_id);
      assert.equal(problem.code, 'waf:blocked', 'the gateway problem shape, with the WAF stage code');
      assert.equal(sqli.headers.get('x-request-id'), problem.request_id);
      await new Promise((r) => setTimeout(r, 50));
      const event = events.slice(before).find((e) => e.request_id === problem.request_id);
      assert.ok(event, 'a security event for the block');
      assert.equal(event.action, 'blocked');
      assert.ok(
        event.matches.some((m) => m.id === 942100),
        'libinjection SQLi rule in the event',
      );

      const order = { name: 'Jane Doe', note: 'two boxes, ring twice' };
      const echo = await fetch(`${url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(order),
      });
      assert.equal(echo.status, 200);
      assert.deepEqual(await echo.json(), order, 'the app read the body the WAF had read');

      const bodyAttack = await fetch(`${url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ q: "1' OR '1'='1" }),
      });
      assert.equal(bodyAttack.status, 403);
      await bodyAttack.arrayBuffer();

      const leak = await fetch(`${url}/leak`);
      const leaked = await leak.text();
      assert.equal(leak.status, 403, 'an SQL error page is blocked in phase 4');
      assert.doesNotMatch(leaked, /SQL syntax/, 'none of the held body left');
    },
  );
}

test(
  'node:http: bodies written in pieces arrive whole, other types stream, HEAD and an empty body work',
  { skip: !crs.ok && 'no CRS release found' },
  async () => {
    const { url } = servers['node:http'];
    const stream = await fetch(`${url}/stream`);
    assert.equal(stream.status, 200);
    assert.equal(await stream.text(), '<p>part 0</p><p>part 1</p><p>part 2</p><p>part 3</p><p>part 4</p><p>done</p>');
    const json = await fetch(`${url}/json`);
    assert.equal(json.status, 200);
    assert.deepEqual(await json.json(), { items: [1, 2, 3] });
    const head = await fetch(`${url}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const empty = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '',
    });
    assert.equal(empty.status, 200);
    assert.equal(await empty.text(), '');
  },
);

test(
  'node:http2: the middleware reads :authority as Host and blocks over HTTP/2',
  { skip: !crs.ok && 'no CRS release found' },
  async () => {
    const http2 = await import('node:http2');
    const { createWaf } = await import('bulwark/waf');
    const seen = [];
    const waf = createWaf({ onEvent: (e) => seen.push(e) });
    const server = http2.createServer((req, res) => waf(req, res, () => res.writeHead(200).end('hello')));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const client = http2.connect(`http://127.0.0.1:${server.address().port}`);
    const get = (path) =>
      new Promise((resolve, reject) => {
        const r = client.request({ ':path': path, 'user-agent': 'test', accept: 'text/plain' });
        let status;
        let body = '';
        r.on('response', (h) => (status = h[':status']));
        r.on('data', (d) => (body += d));
        r.on('end', () => resolve({ status, body }));
        r.on('error', reject);
      });
    try {
      assert.deepEqual(await get('/?q=hello'), { status: 200, body: 'hello' });
      const blocked = await get('/?id=1%27%20OR%20%271%27=%271');
      assert.equal(blocked.status, 403);
      await new Promise((r) => setTimeout(r, 50));
      const ids = seen.flatMap((e) => e.matches.map((m) => m.id));
      assert.ok(ids.includes(942100));
      assert.ok(!ids.includes(920280), 'no "missing Host header" match: :authority stands for Host');
    } finally {
      client.close();
      await new Promise((r) => server.close(r));
    }
  },
);
