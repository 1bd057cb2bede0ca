import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { poolYaml, request, startGateway, startOrigin, type TestGateway, type TestOrigin } from '../testing/harness.js';

let origin: TestOrigin;
let gw: TestGateway;

before(async () => {
  origin = await startOrigin('o1', (req, res, body) => {
    if (req.url === '/slow/first-byte') setTimeout(() => res.writeHead(200).end('late'), 3000);
    else if (req.url === '/echo') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    else
      res
        .writeHead(200, { 'content-type': 'text/plain', connection: 'x-hop', 'x-hop': '1', server: 'test-origin' })
        .end(`ok ${req.method} ${req.url}`);
  });
  gw = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0" }
trusted_proxies: [127.0.0.2/32]
${poolYaml([origin.url])}
  once: { origins: [{ url: "${origin.url}" }], retries: { attempts: 0 } }
routes:
  - name: private
    match: { path: { prefix: /private } }
    pool: main
    stages:
      access:
        default: deny
        rules: [{ action: allow, cidrs: [127.0.0.9/32] }]
  - name: slow
    match: { path: { prefix: /slow } }
    pool: once
    timeouts: { first_byte: 200ms }
  - name: small
    match: { path: { prefix: /small } }
    pool: main
    limits: { body: 16B }
  - name: all
    pool: main
    headers:
      request: { set: { x-env: test }, remove: [x-remove-me] }
      response: { set: { x-frame-options: DENY }, remove: [server] }
`);
});

after(async () => {
  await gw.close();
  await origin.close();
});

test('GET is proxied with a request id, forwarding headers and header edits', async () => {
  const r = await request(`${gw.url}/hello?x=1`, { headers: { 'x-remove-me': '1', 'x-forwarded-for': '6.6.6.6' } });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok GET /hello?x=1');
  assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['server'], undefined);
  assert.equal(r.headers['x-hop'], undefined, 'a header named in Connection is hop-by-hop');
  const seen = origin.seen.at(-1)!;
  assert.equal(seen.headers['x-request-id'], r.headers['x-request-id']);
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'a spoofed XFF from an untrusted peer is replaced');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-env'], 'test');
  assert.equal(seen.headers['x-remove-me'], undefined);
  assert.match(String(seen.headers['forwarded']), /^for=127\.0\.0\.1;host="127\.0\.0\.1:\d+";proto=http$/);
});

test('a trusted proxy keeps its request id and its client address is believed', async () => {
  const r = await request(`${gw.url}/private/x`, {
    headers: { 'x-request-id': 'edge-123', 'x-forwarded-for': '127.0.0.9' },
    localAddress: '127.0.0.2',
  });
  assert.equal(r.status, 200, 'the access rule sees the client address from XFF');
  assert.equal(r.headers['x-request-id'], 'edge-123');
  const untrusted = await request(`${gw.url}/private/x`, {
    headers: { 'x-request-id': 'spoof', 'x-forwarded-for': '127.0.0.9' },
  });
  assert.equal(untrusted.status, 403);
  assert.notEqual(untrusted.headers['x-request-id'], 'spoof');
});

test('the access stage denies with problem details holding the request id', async () => {
  const r = await request(`${gw.url}/private`);
  assert.equal(r.status, 403);
  assert.equal(r.headers['content-type'], 'application/problem+json');
  const body = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(body.code, 'access:denied');
  assert.equal(body.status, 403);
  assert.equal(body.request_id, r.headers['x-request-id']);
  assert.equal(
    origin.seen.some((s) => s.url.startsWith('/private') && s.headers['x-request-id'] === body.request_id),
    false,
  );
});

test('POST bodies stream through, small and chunked', async () => {
  const small = await request(`${gw.url}/echo`, { method: 'POST', body: 'x'.repeat(600) });
  assert.equal(small.body, 'x'.repeat(600));
  const big = Buffer.alloc(300_000, 7);
  const large = await request(`${gw.url}/echo`, { method: 'POST', body: big });
  assert.equal(large.body.length, big.length);
  const chunked = await request(`${gw.url}/echo`, {
    method: 'POST',
    headers: { 'transfer-encoding': 'chunked' },
    body: 'abc',
  });
  assert.equal(chunked.body, 'abc');
});

test('body limits answer 413 by Content-Length and while streaming', async () => {
  const byLength = await request(`${gw.url}/small`, { method: 'POST', body: 'x'.repeat(17) });
  assert.equal(byLength.status, 413);
  assert.equal(JSON.parse(byLength.body).code, 'BWK_ERR_BODY_TOO_LARGE');
  const streamed = await request(`${gw.url}/small`, {
    method: 'POST',
    headers: { 'transfer-encoding': 'chunked' },
    body: 'y'.repeat(40),
  });
  assert.equal(streamed.status, 413);
});

test('Expect: 100-continue gets a 100 before the body, then the answer', async () => {
  const port = gw.port;
  const text = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    let sentBody = false;
    s.on('data', (d) => {
      got += d.toString();
      // The body goes only after the interim 100 arrived, as a careful client does.
      if (!sentBody && got.startsWith('HTTP/1.1 100') && got.includes('\r\n\r\n')) {
        sentBody = true;
        s.write('hello');
      }
      if (got.includes('ok POST')) {
        s.destroy();
        resolve(got);
      }
    });
    s.write('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    setTimeout(() => (s.destroy(), resolve(got)), 3000);
  });
  assert.match(text, /^HTTP\/1\.1 100 Continue\r\n/);
  assert.match(text, /HTTP\/1\.1 200 OK/);
});

test('metrics count requests and stage outcomes; readyz is ready', async () => {
  const m = await request(`${gw.adminUrl}/metrics`);
  assert.equal(m.status, 200);
  assert.match(m.body, /bulwark_gateway_requests_total\{route="all",status="200"\} \d+/);
  assert.match(m.body, /bulwark_pipeline_stage_outcomes_total\{stage="access",reason="access:denied"\} \d+/);
  const ready = await request(`${gw.adminUrl}/readyz`);
  assert.equal(ready.status, 200);
});

test('a route first-byte timeout answers 504 problem details', async () => {
  const started = Date.now();
  const r = await request(`${gw.url}/slow/first-byte`);
  assert.equal(r.status, 504);
  assert.equal(JSON.parse(r.body).code, 'BWK_ERR_GATEWAY_ORIGIN_TIMEOUT');
  // undici enforces the timeout with timers of about one second's resolution.
  assert.ok(
    Date.now() - started < 2500,
    `answered on the timeout, not when the origin finally did (${Date.now() - started} ms)`,
  );
});
