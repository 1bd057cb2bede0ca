// send_timeout over TLS: a client that stops reading a large HTTPS response is disconnected within the timeout
// (plus sampling and a loaded machine's margin), while another client on the same listener is served.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { makeCert } from '../testing/certs.js';
import {
  request,
  scratchDir,
  startGateway,
  startOrigin,
  streamBytes,
  type TestGateway,
  type TestOrigin,
} from '../testing/harness.js';

const BIG_BYTES = 64 * 1024 * 1024;
const SEND_TIMEOUT_MS = 2000;

let origin: TestOrigin;
let gw: TestGateway;
let tlsPort: number;
/** Whether the origin's last /big response was cut before it finished. */
let bigCut: Promise<boolean> | undefined;

before(async () => {
  origin = await startOrigin('o', (req, res) => {
    if (req.url !== '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('small');
    bigCut = streamBytes(res, BIG_BYTES);
  });
  const dir = scratchDir();
  makeCert(dir, 'a', ['a.test']);
  gw = await startGateway(
    `
listeners:
  - name: secure
    address: "127.0.0.1:0"
    tls: { certificates: [{ cert: a.pem, key: a.key }] }
limits: { send_timeout: ${SEND_TIMEOUT_MS}ms }
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes: [{ name: all, pool: main }]
`,
    dir,
  );
  tlsPort = gw.node.listeners().secure!.port;
});

after(async () => {
  await gw.close();
  await origin.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function trips(): Promise<number> {
  const m = (await request(`${gw.adminUrl}/metrics`)).body.match(
    /bulwark_gateway_slow_guard_trips_total\{listener="secure",guard="send_timeout"\} (\d+)/,
  );
  return m ? Number(m[1]) : 0;
}

function httpsGet(path: string, localAddress: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: tlsPort, path, servername: 'a.test', rejectUnauthorized: false, localAddress },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

test('a TLS client that stops reading a large response is disconnected after send_timeout; others are served', async () => {
  const before = await trips();
  // TLS over a TCP socket bound to its own source address (tls.connect has no localAddress of its own).
  const tcp = net.connect({ host: '127.0.0.1', port: tlsPort, localAddress: '127.0.0.2' });
  tcp.on('error', () => undefined);
  const socket = tls.connect({ socket: tcp, servername: 'a.test', rejectUnauthorized: false });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('secureConnect', r));
  socket.write('GET /big HTTP/1.1\r\nHost: a.test\r\n\r\n');
  // Read the first bytes, then never again: kernel buffers fill, then the gateway's, then the clock runs.
  let received = 0;
  await new Promise<void>((r) =>
    socket.once('data', (c: Buffer) => {
      received += c.length;
      r();
    }),
  );
  socket.pause();
  const pausedAt = performance.now();

  // Meanwhile another client, from another address, is served on the same listener.
  const other = await httpsGet('/small', '127.0.0.3');
  assert.deepEqual(other, { status: 200, body: 'small' });

  while ((await trips()) === before && performance.now() - pausedAt < 20_000) await sleep(100);
  const tookMs = performance.now() - pausedAt;
  console.log(`send_timeout ${SEND_TIMEOUT_MS} ms over TLS: tripped ${tookMs.toFixed(0)} ms after the client paused`);
  assert.equal(await trips(), before + 1, 'the send_timeout guard tripped');
  // Not before the timeout; after it within sampling (a quarter of it) plus a loaded machine's margin.
  assert.ok(
    tookMs >= SEND_TIMEOUT_MS - 100 && tookMs < SEND_TIMEOUT_MS + 6000,
    `tripped after ${tookMs.toFixed(0)} ms`,
  );
  assert.equal(await bigCut, true, 'the origin response was abandoned, not buffered');

  // The connection is gone: reading again finds what was in flight, then the end, long before 64 MiB.
  socket.on('data', (c: Buffer) => (received += c.length));
  const closed = new Promise<boolean>((done) => {
    const timer = setTimeout(() => done(false), 10_000);
    socket.once('close', () => {
      clearTimeout(timer);
      done(true);
    });
  });
  socket.resume();
  assert.equal(await closed, true, 'the connection closed');
  console.log(`the slow client received ${received} of ${BIG_BYTES} bytes`);
  assert.ok(received < BIG_BYTES, `${received} bytes of ${BIG_BYTES} reached the client`);

  const after = await httpsGet('/small', '127.0.0.3');
  assert.equal(after.status, 200, 'the listener still serves');
});
