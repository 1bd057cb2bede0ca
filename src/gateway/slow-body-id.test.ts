// The 408 of body_min_rate carries the request's own id: the problem body's request_id, the X-Request-Id header
// and the access-log line agree, over HTTP/1.1 and HTTP/2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import { scratchDir, startGateway, startOrigin, type TestGateway, type TestOrigin } from '../testing/harness.js';

let origin: TestOrigin;
let gw: TestGateway;
let logFile: string;

before(async () => {
  origin = await startOrigin('o');
  const dir = scratchDir();
  logFile = join(dir, 'access.log');
  gw = await startGateway(
    `
listeners: [{ name: public, address: "127.0.0.1:0", protocols: [http1, h2c] }]
limits: { body_min_rate: 240, body_min_rate_grace: 1s }
log: { level: silent, access: { destination: "${logFile}", fields: [id, status, path, reason] } }
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes: [{ name: all, pool: main }]
`,
    dir,
  );
});

after(async () => {
  await gw.close();
  await origin.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The access-log lines for `path`, once one has appeared (the writer is asynchronous). */
async function logLinesFor(path: string): Promise<Array<Record<string, unknown>>> {
  const read = () =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((l) => l.path === path)
      : [];
  for (let i = 0; i < 100 && read().length === 0; i++) await sleep(50);
  return read();
}

test('HTTP/1.1: a slow POST gets a 408 whose body, header and access-log line share one request id', async () => {
  const socket = net.connect({ port: gw.port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  let reply = '';
  socket.on('data', (c: Buffer) => (reply += c.toString('latin1')));
  const closed = new Promise((r) => socket.once('close', r));
  socket.write('POST /slow-h1 HTTP/1.1\r\nHost: gw\r\nContent-Length: 100000\r\n\r\nxxxx');
  await Promise.race([closed, sleep(10_000)]);
  socket.destroy();
  assert.match(reply, /^HTTP\/1\.1 408 /, reply);
  const header = /\r\nx-request-id: ([^\r\n]+)/i.exec(reply)?.[1];
  const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as { request_id: string; code: string };
  const lines = await logLinesFor('/slow-h1');
  console.log(`h1: header ${header}, body ${body.request_id}, log ${JSON.stringify(lines)}`);
  assert.equal(body.code, 'BWK_ERR_BODY_TOO_SLOW');
  assert.ok(header, 'an x-request-id header');
  assert.equal(body.request_id, header);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.id, header);
  assert.equal(lines[0]!.status, 408);
});

test('HTTP/2: a trickled stream gets a 408 whose body, header and access-log line share one request id', async () => {
  const session = http2.connect(gw.url);
  session.on('error', () => undefined);
  const slow = session.request({ ':path': '/slow-h2', ':method': 'POST', 'content-length': '100000' });
  slow.on('error', () => undefined);
  slow.write('xxxx');
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => slow.once('response', resolve));
  let text = '';
  slow.on('data', (c: Buffer) => (text += c.toString()));
  await new Promise((r) => slow.once('end', r));
  slow.destroy();
  session.close();
  const body = JSON.parse(text) as { request_id: string };
  const lines = await logLinesFor('/slow-h2');
  console.log(`h2: header ${String(headers['x-request-id'])}, body ${body.request_id}, log ${JSON.stringify(lines)}`);
  assert.equal(headers[':status'], 408);
  assert.ok(headers['x-request-id'], 'an x-request-id header');
  assert.equal(body.request_id, headers['x-request-id']);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.id, headers['x-request-id']);
  assert.equal(lines[0]!.status, 408);
});
