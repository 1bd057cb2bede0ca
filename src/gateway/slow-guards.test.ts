// The connection and slow-client guards one by one, on loopback: the new-connection rate per address, slow read
// (send_timeout), requests per connection over HTTP/1.1 and HTTP/2, the keep-alive idle close, and the minimum
// body rate over HTTP/2 (HTTP/1.1 is in slow-attacks.test.ts) without cutting an honest slow upload.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { ConnectionGuard } from './listeners/connection-guard.js';
import {
  ADMIN_AUTH,
  request,
  startGateway,
  startOrigin,
  streamBytes,
  type TestGateway,
  type TestOrigin,
} from '../testing/harness.js';

const BIG_BYTES = 64 * 1024 * 1024;

let origin: TestOrigin;
let gw: TestGateway;
let gwRate: TestGateway;
/** Whether the origin's last /big response was cut before it finished. */
let bigCut: Promise<boolean> | undefined;

before(async () => {
  origin = await startOrigin('o', (req, res, body) => {
    if (req.url !== '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${body.length}`);
      return;
    }
    bigCut = streamBytes(res, BIG_BYTES);
  });
  gw = await startGateway(`
listeners: [{ name: public, address: "127.0.0.1:0", protocols: [http1, h2c] }]
limits:
  keepalive_timeout: 1s
  body_min_rate: 240
  body_min_rate_grace: 1s
  send_timeout: 1s
  max_requests_per_connection: 3
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes: [{ name: all, pool: main, limits: { body: 128MiB } }]
`);
  gwRate = await startGateway(`
listeners: [{ name: rated, address: "127.0.0.1:0" }]
limits: { new_connections_per_second_per_client: 5 }
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes: [{ name: all, pool: main }]
`);
});

after(async () => {
  await gw?.close();
  await gwRate?.close();
  await origin?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the milliseconds from now until the socket closes, or undefined after `withinMs`. */
function closesWithin(socket: net.Socket | http2.ClientHttp2Session, withinMs: number): Promise<number | undefined> {
  const t = performance.now();
  return new Promise((done) => {
    const timer = setTimeout(() => done(undefined), withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      done(performance.now() - t);
    });
  });
}

async function metric(url: string, pattern: RegExp): Promise<number> {
  const m = (await request(`${url}/metrics`)).body.match(pattern);
  return m ? Number(m[1]) : 0;
}

test('new connections per second per address: a burst past the bucket is closed at accept', async () => {
  const open = (from: string) =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port: gwRate.port, host: '127.0.0.1', localAddress: from });
      s.on('error', () => undefined);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  const burst = await Promise.all(Array.from({ length: 12 }, () => open('127.0.0.2')));
  const closed = await Promise.all(burst.map((s) => closesWithin(s, 500)));
  const refused = closed.filter((c) => c !== undefined).length;
  // The bucket holds 5; it refills 5 per second, so a slow machine may let one or two more through.
  assert.ok(refused >= 5 && refused <= 7, `${refused} of 12 closed at accept`);

  const other = await request(`${gwRate.url}/`, { localAddress: '127.0.0.3' });
  assert.equal(other.status, 200, 'another address is not affected');
  await sleep(1100);
  const later = await open('127.0.0.2');
  assert.equal(await closesWithin(later, 300), undefined, 'the bucket refilled');
  for (const s of [...burst, later]) s.destroy();

  const refusedMetric = await metric(
    gwRate.adminUrl,
    /bulwark_gateway_connections_refused_total\{listener="rated",reason="rate"\} (\d+)/,
  );
  assert.equal(refusedMetric, refused);
  const events = (await (
    await fetch(`${gwRate.adminUrl}/v1/events?type=connections`, { headers: ADMIN_AUTH })
  ).json()) as {
    events: { client: string; reason: string }[];
  };
  assert.equal(events.events.filter((e) => e.client === '127.0.0.2' && e.reason === 'rate').length, 1);
});

test('the new-connection buckets stay bounded however many addresses connect', () => {
  const guard = new ConnectionGuard('unit', { newPerSecondPerClient: 10 });
  const fake = (address: string) =>
    ({ remoteAddress: address, destroy: () => undefined, once: () => undefined }) as unknown as net.Socket;
  for (let i = 0; i < 100_500; i++) guard.admit(fake(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
  assert.ok(guard.bucketCount <= 100_000, `${guard.bucketCount} buckets`);
});

test('slow read: a client that stops reading a large response is disconnected after send_timeout', async () => {
  const trips = () =>
    metric(gw.adminUrl, /bulwark_gateway_slow_guard_trips_total\{listener="public",guard="send_timeout"\} (\d+)/);
  const before = await trips();
  const socket = net.connect({ port: gw.port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write('GET /big HTTP/1.1\r\nHost: gw\r\n\r\n');
  // Read the first bytes, then never again: kernel buffers fill, then the gateway's, then the clock runs.
  await new Promise((r) => socket.once('data', r));
  socket.pause();
  const started = performance.now();
  while ((await trips()) === before && performance.now() - started < 20_000) await sleep(200);
  assert.equal(await trips(), before + 1, 'the send_timeout guard tripped');
  assert.equal(await bigCut, true, 'the origin response was abandoned, not buffered');
  // The gateway reset the connection: reading again finds the reset and the end, long before 64 MiB.
  let received = 0;
  socket.on('data', (c: Buffer) => (received += c.length));
  const closed = closesWithin(socket, 10_000);
  socket.resume();
  assert.ok((await closed) !== undefined, 'the connection is gone');
  assert.ok(received < BIG_BYTES, `${received} bytes of ${BIG_BYTES} reached the client`);
});

test('send_timeout spares a client that reads slowly but keeps reading', { timeout: 60_000 }, async () => {
  const socket = net.connect({ port: gw.port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write('GET /big HTTP/1.1\r\nHost: gw\r\n\r\n');
  let received = 0;
  socket.on('data', (c: Buffer) => (received += c.length));
  socket.pause();
  // Reads in short bursts with pauses of half the 1 s timeout (sampling may see a pause as up to 250 ms longer).
  const reader = setInterval(() => {
    socket.resume();
    setTimeout(() => socket.pause(), 20);
  }, 500);
  const closed = closesWithin(socket, 45_000);
  while (received < BIG_BYTES && !socket.destroyed) await sleep(100);
  clearInterval(reader);
  assert.ok(received >= BIG_BYTES, `received ${received} of ${BIG_BYTES} bytes`);
  socket.destroy();
  await closed;
});

test('max_requests_per_connection over HTTP/1.1: the third answer says close and the connection ends', async () => {
  const socket = net.connect({ port: gw.port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  let reply = '';
  socket.on('data', (c: Buffer) => (reply += c.toString('latin1')));
  const closed = closesWithin(socket, 5000);
  for (let i = 1; i <= 3; i++) {
    socket.write(`GET /n${i} HTTP/1.1\r\nHost: gw\r\n\r\n`);
    while (reply.split('ok 0').length - 1 < i && !socket.destroyed) await sleep(10);
  }
  assert.ok((await closed) !== undefined, 'the gateway closed the connection after the third answer');
  const connection = [...reply.matchAll(/^connection: (.*)$/gim)].map((m) => m[1]!.toLowerCase());
  assert.deepEqual(connection, ['keep-alive', 'keep-alive', 'close']);
});

test('max_requests_per_connection over HTTP/2: GOAWAY after the third stream, all three answered', async () => {
  const session = http2.connect(gw.url);
  session.on('error', () => undefined);
  let goawayAfter: number | undefined;
  const statuses: number[] = [];
  session.on('goaway', () => (goawayAfter ??= statuses.length));
  for (let i = 0; i < 3; i++) {
    const s = session.request({ ':path': `/h2-${i}` });
    statuses.push(
      await new Promise<number>((resolve, reject) => {
        let status = 0;
        s.on('response', (h) => (status = Number(h[':status'])));
        s.on('error', reject);
        s.resume();
        s.on('end', () => resolve(status));
      }),
    );
  }
  await closesWithin(session, 3000);
  assert.deepEqual(statuses, [200, 200, 200]);
  assert.ok(goawayAfter !== undefined && goawayAfter <= 3, 'the gateway sent GOAWAY');
  assert.ok(session.closed || session.destroyed, 'the session ended');
  assert.ok(
    (await metric(
      gw.adminUrl,
      /bulwark_gateway_slow_guard_trips_total\{listener="public",guard="max_requests"\} (\d+)/,
    )) >= 2,
  );
});

test('an idle keep-alive connection closes at keepalive_timeout', async () => {
  const socket = net.connect({ port: gw.port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write('GET /idle HTTP/1.1\r\nHost: gw\r\n\r\n');
  let reply = '';
  await new Promise<void>((resolve) =>
    socket.on('data', (c: Buffer) => {
      reply += c.toString('latin1');
      if (reply.includes('ok 0')) resolve();
    }),
  );
  const closedAfter = await closesWithin(socket, 5000);
  assert.match(reply, /^HTTP\/1\.1 200/);
  assert.ok(closedAfter !== undefined, 'closed by the gateway');
  // Not before the timeout; after it within the margin a loaded machine needs.
  assert.ok(closedAfter >= 900 && closedAfter < 4000, `closed after ${closedAfter.toFixed(0)} ms (timeout 1000 ms)`);
});

test('body_min_rate over HTTP/2: a trickled body gets 408 and its stream closes; the session goes on', async () => {
  const session = http2.connect(gw.url);
  session.on('error', () => undefined);
  const slow = session.request({ ':path': '/upload', ':method': 'POST', 'content-length': '100000' });
  slow.on('error', () => undefined);
  const trickle = setInterval(() => slow.writable && slow.write('xxxxx'), 250);
  const started = performance.now();
  const status = await new Promise<number>((resolve) => slow.on('response', (h) => resolve(Number(h[':status']))));
  const took = performance.now() - started;
  slow.resume();
  await new Promise((r) => slow.once('end', r));
  // The gateway resets the stream (NO_ERROR) after its answer. Node's client marks the stream closed but keeps
  // its writable half until the writer ends it, so 'close' is not what to wait for.
  for (let i = 0; i < 50 && !slow.closed; i++) await sleep(20);
  clearInterval(trickle);
  assert.equal(status, 408);
  assert.ok(took < 1000 + 250 + 3000, `answered after ${took.toFixed(0)} ms (grace 1000 ms)`);
  assert.equal(slow.closed, true, 'the stream was reset');
  assert.equal(slow.rstCode, http2.constants.NGHTTP2_NO_ERROR);
  slow.destroy();

  const next = session.request({ ':path': '/after' });
  const nextStatus = await new Promise<number>((resolve) => next.on('response', (h) => resolve(Number(h[':status']))));
  next.resume();
  assert.equal(nextStatus, 200, 'the same session still serves');
  session.close();
});

test('body_min_rate spares an upload that is slow but above the minimum rate', async () => {
  const socket = net.connect({ port: gw.port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  let reply = '';
  socket.on('data', (c: Buffer) => (reply += c.toString('latin1')));
  socket.write('POST /honest HTTP/1.1\r\nHost: gw\r\nContent-Length: 3000\r\n\r\n');
  // 300 bytes every 200 ms (1500 B/s) for 2 s: well past the 1 s grace, well above 240 B/s.
  for (let i = 0; i < 10; i++) {
    await sleep(200);
    socket.write('y'.repeat(300));
  }
  for (let i = 0; i < 50 && !reply.includes('ok 3000'); i++) await sleep(100);
  socket.destroy();
  assert.match(reply, /^HTTP\/1\.1 200/);
  assert.match(reply, /ok 3000/);
});
