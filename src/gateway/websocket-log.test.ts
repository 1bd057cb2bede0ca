// WebSocket upgrades are logged like requests: one access-log line and one run of the pipeline's onLog per
// upgrade, accepted (101, written when the connection closes) or refused (its status, written at once).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { poolYaml, scratchDir, startGateway, type TestGateway } from '../testing/harness.js';

let server: http.Server;
let gw: TestGateway;
let logFile: string;
const originIds: string[] = [];

before(async () => {
  server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    originIds.push(String(req.headers['x-request-id']));
    ws.on('message', (m: Buffer) => ws.send(`echo:${m.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = scratchDir();
  logFile = join(dir, 'access.log');
  // Two access refusals within a minute ban the client (the bans stage's onLog counts them): with onLog run
  // twice per upgrade, the first refusal alone would ban.
  gw = await startGateway(
    `
listeners: [{ name: public, address: "127.0.0.1:0" }]
log: { level: silent, access: { destination: "${logFile}" } }
${poolYaml([url])}
routes:
  - name: denied
    match: { path: { prefix: /blocked } }
    pool: main
    stages:
      access: { rules: [{ action: deny }] }
      bans: { triggers: [{ on: access, count: 2, within: 1m }] }
  - name: ws
    pool: main
`,
    dir,
  );
});

after(async () => {
  await gw.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function accessLines(): Array<Record<string, unknown>> {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The lines carrying `id`, once at least one has appeared (the writer is asynchronous) and a little after. */
async function linesFor(id: string): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 100 && !accessLines().some((l) => l.id === id); i++) await sleep(50);
  await sleep(300); // a second line, were one written, would be there by now
  return accessLines().filter((l) => l.id === id);
}

/** A raw upgrade from address `from`: what the gateway answered, once it ended its side or 300 ms after a 101. */
function upgrade(path: string, from: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect({ port: gw.port, host: '127.0.0.1', localAddress: from }, () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    const timer = setTimeout(done, 5000);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text.startsWith('HTTP/1.1 101 ') && text.includes('\r\n\r\n')) setTimeout(done, 300);
    });
    socket.on('end', done);
    socket.on('error', done);
  });
}

test('an accepted upgrade writes one access line with status 101 when it closes', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/chat`, { localAddress: '127.0.0.2' });
  const reply = await new Promise<string>((resolve, reject) => {
    ws.on('open', () => ws.send('hi'));
    ws.on('message', (m: Buffer) => resolve(m.toString()));
    ws.on('error', reject);
  });
  assert.equal(reply, 'echo:hi');
  ws.close();
  await new Promise((r) => ws.once('close', r));
  const id = originIds.at(-1)!;
  const lines = await linesFor(id);
  console.log(`accepted upgrade: ${JSON.stringify(lines)}`);
  assert.equal(lines.length, 1, 'one line for the upgrade');
  const [line] = lines;
  assert.deepEqual(
    { status: line!.status, route: line!.route, path: line!.path, client: line!.client, attempts: line!.attempts },
    { status: 101, route: 'ws', path: '/chat', client: '127.0.0.2', attempts: 1 },
  );
  assert.ok((line!.bytes_out as number) > 0 && (line!.bytes_in as number) > 0, 'bytes counted both ways');
});

test('a refused upgrade writes one access line with its status and runs onLog once', async () => {
  const first = await upgrade('/blocked/a', '127.0.0.3');
  assert.match(first, /^HTTP\/1\.1 403 /);
  const id = /x-request-id: ([^\r\n]+)/i.exec(first)![1]!;
  const lines = await linesFor(id);
  console.log(`refused upgrade: ${JSON.stringify(lines)}`);
  assert.equal(lines.length, 1, 'one line for the refusal');
  assert.equal(lines[0]!.status, 403);
  assert.equal(lines[0]!.route, 'denied');
  assert.match(String(lines[0]!.reason), /^access:/);

  // onLog ran once: one refusal is not yet the two that ban; the second is.
  assert.match(await upgrade('/ok', '127.0.0.3'), /^HTTP\/1\.1 101 /, 'not banned after one refusal');
  assert.match(await upgrade('/blocked/b', '127.0.0.3'), /^HTTP\/1\.1 403 /);
  const banned = await upgrade('/ok', '127.0.0.3');
  assert.match(banned, /^HTTP\/1\.1 403 /, 'banned after the second refusal');
  assert.match(banned, /bans:banned/);
});
