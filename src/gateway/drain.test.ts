// Drain (SIGTERM, reload of a listener): stop accepting, let in-flight requests finish, close idle keep-alive
// connections at once, and never wait past the deadline for anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startGateway, startOrigin } from '../testing/harness.js';

test('drain finishes in-flight requests, closes idle keep-alive connections, and keeps to its deadline', async () => {
  const origin = await startOrigin('o', (req, res) => {
    if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('done'), 500);
    else res.writeHead(200).end('ok');
  });
  const gw = await startGateway(`
listeners: [{ name: public, address: "127.0.0.1:0", protocols: [http1, h2c] }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes: [{ name: all, pool: main }]
`);
  // An idle keep-alive client: one request, then the connection stays open.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  await new Promise<void>((resolve) => http.get(`${gw.url}/idle`, { agent }, (r) => r.resume().on('end', resolve)));
  const idleClosed = new Promise<void>((resolve) => {
    const sock = Object.values(agent.freeSockets).flat()[0]!;
    sock.once('close', () => resolve());
  });
  // A silent connection that never sends a byte: only the deadline ends it.
  const silent = net.connect(gw.port, '127.0.0.1');
  await new Promise((r) => silent.once('connect', r));

  const inflight = new Promise<string>((resolve) =>
    http.get(`${gw.url}/slow`, { agent: false }, (r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString()));
      r.on('end', () => resolve(body));
    }),
  );
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await gw.node.close(1500);
  const took = Date.now() - started;
  assert.equal(await inflight, 'done', 'the in-flight request finished');
  await idleClosed;
  assert.ok(took >= 300 && took < 2500, `close took ${took} ms: after the in-flight request, within the deadline`);
  assert.equal(silent.destroyed || silent.readableEnded, true);
  silent.destroy();
  agent.destroy();
  await origin.close();
});
