// HTTP/2 rapid reset (CVE-2023-44487): a client that opens and cancels streams in a loop is disconnected, the
// origin is not blamed for the cancelled requests, and other clients keep being served.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { request, startGateway, startOrigin, type TestGateway, type TestOrigin } from '../testing/harness.js';

let a: TestOrigin;
let b: TestOrigin;
let gw: TestGateway;

before(async () => {
  a = await startOrigin('a');
  b = await startOrigin('b');
  gw = await startGateway(`
listeners: [{ name: public, address: "127.0.0.1:0", protocols: [http1, h2c] }]
pools: { main: { origins: [{ url: "${a.url}" }, { url: "${b.url}" }] } }
routes: [{ name: all, pool: main }]
`);
});

after(async () => {
  await gw.close();
  await a.close();
  await b.close();
});

test(
  'a rapid-reset client is disconnected; origins stay in rotation; others are served',
  { timeout: 30_000 },
  async () => {
    const session = http2.connect(gw.url);
    session.on('error', () => {});
    let goaway: number | undefined;
    session.on('goaway', (code) => (goaway = code));
    let streams = 0;
    const started = Date.now();
    while (!session.closed && !session.destroyed && streams < 50_000 && Date.now() - started < 15_000) {
      try {
        const s = session.request({ ':path': '/', ':authority': '127.0.0.1' });
        s.on('error', () => {});
        s.close(http2.constants.NGHTTP2_CANCEL);
        streams++;
      } catch {
        break;
      }
      if (streams % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    for (let i = 0; i < 50 && !session.destroyed; i++) await new Promise((r) => setTimeout(r, 20));
    console.log(
      `rapid reset: ${streams} streams opened and cancelled before the server ended the session (GOAWAY ${goaway})`,
    );
    assert.ok(session.destroyed || session.closed, 'the server ended the session');
    assert.ok(streams < 50_000, `disconnected after ${streams} streams`);

    await new Promise((r) => setTimeout(r, 300));
    const m = (await request(`${gw.adminUrl}/metrics`)).body;
    assert.doesNotMatch(m, /bulwark_gateway_upstream_errors_total\{pool="main",kind="(connect|reset|timeout)"\}/);
    assert.doesNotMatch(m, /bulwark_gateway_origin_healthy\{[^}]*\} 0/, 'no origin was ejected for the client resets');
    for (let i = 0; i < 4; i++) assert.equal((await request(`${gw.url}/after`)).status, 200);
  },
);
