import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { poolYaml, startGateway, type TestGateway } from '../testing/harness.js';

let server: http.Server;
let gw: TestGateway;
let lastUpgradeHeaders: http.IncomingHttpHeaders = {};

before(async () => {
  server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    lastUpgradeHeaders = req.headers;
    ws.on('message', (m: Buffer) => ws.send(`echo:${m.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gw = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0" }
${poolYaml([url])}
routes:
  - name: denied
    match: { path: { prefix: /blocked } }
    pool: main
    stages: { access: { rules: [{ action: deny }] } }
  - name: ws
    pool: main
`);
});

after(async () => {
  await gw.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

test('a WebSocket is proxied both ways with forwarding headers', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/chat`);
  const replies: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      ws.send('one');
      ws.send('two');
    });
    ws.on('message', (m: Buffer) => {
      replies.push(m.toString());
      if (replies.length === 2) resolve();
    });
    ws.on('error', reject);
  });
  ws.close();
  assert.deepEqual(replies, ['echo:one', 'echo:two']);
  assert.equal(lastUpgradeHeaders['x-forwarded-for'], '127.0.0.1');
  assert.ok(lastUpgradeHeaders['x-request-id']);
});

test('request stages run before an upgrade: a denied WebSocket gets 403', async () => {
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/blocked`);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
  assert.equal(status, 403);
});
