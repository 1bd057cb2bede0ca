// Upgrade requests go through the same front half as requests (front.ts): each refusal the request handler makes
// is made to a raw-socket WebSocket upgrade too, as an HTTP response on the socket, which is then closed, and the
// origin never sees the upgrade.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { rawExchange, startGateway, startOrigin, type TestGateway, type TestOrigin } from '../testing/harness.js';

let server: http.Server;
/** An HTTP origin without WebSocket: it answers an upgrade request as a plain one and keeps the connection. */
let plain: TestOrigin;
let gw: TestGateway;
/** Request lines of the upgrades the origin received. */
const originSaw: string[] = [];

before(async () => {
  server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (_ws, req) => originSaw.push(`${req.method} ${req.url} host=${req.headers.host}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  plain = await startOrigin('plain');
  gw = await startGateway(`
listeners: [{ name: public, address: "127.0.0.1:0" }]
limits: { header_bytes: 2KiB, uri_bytes: 1KiB }
pools:
  main: { origins: [{ url: "${url}" }] }
  plain: { origins: [{ url: "${plain.url}" }] }
  dead: { origins: [{ url: "http://127.0.0.1:1" }] }
routes:
  - name: dead
    match: { hosts: [dead.test] }
    pool: dead
  - name: plain-secret
    match: { hosts: [plain.test], path: { prefix: /secret } }
    pool: plain
    stages: { access: { rules: [{ action: deny }] } }
  - name: plain
    match: { hosts: [plain.test] }
    pool: plain
  - name: denied
    match: { hosts: [ws.test], path: { prefix: /blocked } }
    pool: main
    stages: { access: { rules: [{ action: deny }] } }
  - name: limited
    match: { hosts: [ws.test], path: { prefix: /limited } }
    pool: main
    stages: { ratelimit: { rules: [{ name: per-ip, key: [client], rate: 1/m, burst: 1 }] } }
  - name: small
    match: { hosts: [ws.test], path: { prefix: /small } }
    pool: main
    limits: { body: 10 }
  - name: ws
    match: { hosts: [ws.test] }
    pool: main
`);
});

after(async () => {
  await gw.close();
  await plain.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const HANDSHAKE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n';
const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/** An upgrade request: request line, then `headers` (each ending in CRLF), then the handshake fields. */
function upgradeRequest(requestLine: string, headers = 'Host: ws.test\r\n', tail = ''): string {
  return `${requestLine}\r\n${headers}${HANDSHAKE}${KEY}\r\n${tail}`;
}

/**
 * Sends an upgrade and checks the answer is a problem with `status`, `code` and (when given) a `detail` that
 * tells the gateway's own check from the parser's, then the close; returns the answer.
 */
async function assertRefused(
  raw: string,
  status: number,
  code: string,
  { detail, localAddress }: { detail?: RegExp; localAddress?: string } = {},
): Promise<string> {
  const before = [originSaw.length, plain.seen.length];
  const { text, closed } = await rawExchange(gw.port, raw, { localAddress });
  const label = JSON.stringify(raw.slice(0, 60));
  assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), `${label}: ${JSON.stringify(text.slice(0, 200))}`);
  assert.ok(closed, `${label}: the gateway closed the connection`);
  assert.match(text, /\r\ncontent-type: application\/problem\+json\r\n/i, label);
  const id = /\r\nx-request-id: ([^\r]+)\r\n/i.exec(text)?.[1];
  const problem = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as {
    code: string;
    detail: string;
    request_id: string;
  };
  assert.equal(problem.code, code, label);
  if (detail) assert.match(problem.detail, detail, label);
  assert.equal(problem.request_id, id, label);
  assert.deepEqual([originSaw.length, plain.seen.length], before, `${label}: no origin saw it`);
  return text;
}

test('control: a valid upgrade is spliced to the origin (101)', async () => {
  const { text } = await rawExchange(gw.port, upgradeRequest('GET /chat HTTP/1.1'), { timeoutMs: 1000 });
  assert.match(text, /^HTTP\/1\.1 101 /);
  assert.equal(originSaw.at(-1), 'GET /chat host=ws.test');
});

test('a request target longer than uri_bytes: 414', async () => {
  await assertRefused(upgradeRequest(`GET /${'u'.repeat(1100)} HTTP/1.1`), 414, 'BWK_ERR_URI_TOO_LONG');
});

test('a header block larger than header_bytes: 431', async () => {
  const pad = `X-Pad: ${'p'.repeat(2100)}\r\n`;
  await assertRefused(
    upgradeRequest('GET /chat HTTP/1.1', `Host: ws.test\r\n${pad}`),
    431,
    'BWK_ERR_HEADERS_TOO_LARGE',
  );
});

test('Host rules: missing, twice, or not a valid host[:port]: 400', async () => {
  const bad = (headers: string, detail: RegExp) =>
    assertRefused(upgradeRequest('GET /chat HTTP/1.1', headers), 400, 'BWK_ERR_BAD_REQUEST', { detail });
  await bad('', /exactly one Host/);
  await bad('Host: ws.test\r\nHost: other.test\r\n', /exactly one Host/);
  await bad('Host: ws%2etest\r\n', /not a valid host/);
});

test('malformed targets: a fragment, an absolute-form that is no URL, a * without OPTIONS: 400', async () => {
  const bad = (line: string, detail: RegExp) =>
    assertRefused(upgradeRequest(line), 400, 'BWK_ERR_BAD_REQUEST', { detail });
  await bad('GET /chat#x HTTP/1.1', /fragment/);
  await bad('GET http://[ws.test/chat HTTP/1.1', /target is not valid/);
  await bad('GET * HTTP/1.1', /only valid with OPTIONS/);
  await bad('GET /chat HTTP/0.9', /Only HTTP\/1\.0 and HTTP\/1\.1/);
});

test('OPTIONS * with an Upgrade header is answered as without one (Allow), then closed', async () => {
  const plainAnswer = await rawExchange(gw.port, 'OPTIONS * HTTP/1.1\r\nHost: ws.test\r\nConnection: close\r\n\r\n');
  const { text, closed } = await rawExchange(gw.port, upgradeRequest('OPTIONS * HTTP/1.1'));
  const statusLine = (t: string) => t.slice(0, t.indexOf('\r\n'));
  assert.match(statusLine(plainAnswer.text), /^HTTP\/1\.1 2\d\d /);
  assert.equal(statusLine(text), statusLine(plainAnswer.text));
  assert.match(text, /\r\nallow: GET, /i);
  assert.ok(closed);
});

test('an absolute-form target routes by its authority and reaches the origin in origin-form', async () => {
  const raw = upgradeRequest('GET http://ws.test/abs?q=1 HTTP/1.1', 'Host: ws.test\r\n');
  const { text } = await rawExchange(gw.port, raw, { timeoutMs: 1000 });
  assert.match(text, /^HTTP\/1\.1 101 /);
  assert.equal(originSaw.at(-1), 'GET /abs?q=1 host=ws.test');
});

test('no route for the host: 404', async () => {
  await assertRefused(upgradeRequest('GET /chat HTTP/1.1', 'Host: other.test\r\n'), 404, 'BWK_ERR_GATEWAY_NO_ROUTE');
});

test('an Upgrade the gateway does not act on is served as a plain request, then the connection closes', async () => {
  // RFC 9110 §7.8: HTTP/1.0 MUST ignore Upgrade; another protocol (curl --http2 on http://) or method MAY.
  const cases: Array<[string, string]> = [
    ['HTTP/1.0 WebSocket', upgradeRequest('GET /one HTTP/1.0', 'Host: plain.test\r\n')],
    [
      'h2c',
      'GET /two HTTP/1.1\r\nHost: plain.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
        'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
    ],
    ['PUT', upgradeRequest('PUT /three HTTP/1.1', 'Host: plain.test\r\n')],
  ];
  for (const [label, raw] of cases) {
    const { text, closed } = await rawExchange(gw.port, raw);
    assert.match(text, /^HTTP\/1\.1 200 /, label);
    assert.ok(text.includes('ok from plain'), label);
    assert.ok(closed, `${label}: closed after the answer`);
    const seen = plain.seen.at(-1)!;
    assert.equal(seen.headers.upgrade, undefined, `${label}: Upgrade is not forwarded`);
    assert.equal(seen.headers['http2-settings'], undefined, label);
  }
  assert.deepEqual(
    plain.seen.slice(-3).map((r) => `${r.method} ${r.url}`),
    ['GET /one', 'GET /two', 'PUT /three'],
  );
});

test('served as a plain request, an ignored Upgrade still meets the stages: a denied path is 403', async () => {
  const raw = upgradeRequest('GET /secret HTTP/1.0', 'Host: plain.test\r\n');
  await assertRefused(raw, 403, 'access:denied');
});

test('an ignored Upgrade with a body is refused: its body could not be read', async () => {
  const raw = upgradeRequest('PUT /four HTTP/1.1', 'Host: plain.test\r\nContent-Length: 5\r\n', 'hello');
  await assertRefused(raw, 400, 'BWK_ERR_BAD_REQUEST', { detail: /cannot carry a body/ });
});

test('an expectation other than 100-continue: 417, as the listener answers a request', async () => {
  const raw = upgradeRequest('GET /chat HTTP/1.1', 'Host: ws.test\r\nExpect: magic\r\n');
  await assertRefused(raw, 417, 'BWK_ERR_BAD_REQUEST', { detail: /Expect: 100-continue/ });
});

test('a body on an upgrade: 413 past the route limit, 400 under it', async () => {
  const withLength = (n: number) =>
    upgradeRequest('GET /small HTTP/1.1', `Host: ws.test\r\nContent-Length: ${n}\r\n`, 'b'.repeat(n));
  await assertRefused(withLength(100), 413, 'BWK_ERR_BODY_TOO_LARGE');
  const detail = /cannot carry a body/;
  await assertRefused(withLength(5), 400, 'BWK_ERR_BAD_REQUEST', { detail });
  const chunked = upgradeRequest('GET /chat HTTP/1.1', 'Host: ws.test\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n');
  await assertRefused(chunked, 400, 'BWK_ERR_BAD_REQUEST', { detail });
});

test('stage refusals: access deny 403, rate limit 429 with its headers, ban 403', async () => {
  await assertRefused(upgradeRequest('GET /blocked HTTP/1.1'), 403, 'access:denied');

  const limited = upgradeRequest('GET /limited HTTP/1.1');
  const first = await rawExchange(gw.port, limited, { timeoutMs: 1000, localAddress: '127.0.0.4' });
  assert.match(first.text, /^HTTP\/1\.1 101 /, 'the first upgrade is within the rate');
  const refused = await assertRefused(limited, 429, 'ratelimit:per-ip', { localAddress: '127.0.0.4' });
  assert.match(refused, /\r\nretry-after: \d+\r\n/i, 'the verdict headers go out on the raw socket');

  gw.node.bans.ban({
    target: '127.0.0.5',
    until: Date.now() + 60_000,
    reason: 'manual',
    source: 'manual',
    strikes: 1,
  });
  await assertRefused(upgradeRequest('GET /chat HTTP/1.1'), 403, 'bans:banned', { localAddress: '127.0.0.5' });
});

test('an origin that cannot be reached: 502, written on the socket', async () => {
  const raw = upgradeRequest('GET /chat HTTP/1.1', 'Host: dead.test\r\n');
  await assertRefused(raw, 502, 'BWK_ERR_GATEWAY_ORIGIN_CONNECT');
});

test('an origin that refuses the upgrade answers the client, and nothing more the client sends reaches it', async () => {
  // The first request would be the secret route's if the splice stayed open after the origin's 200.
  const raw =
    upgradeRequest('GET /chat HTTP/1.1', 'Host: plain.test\r\n') + 'GET /secret HTTP/1.1\r\nHost: plain.test\r\n\r\n';
  const before = plain.seen.length;
  const { text, closed } = await rawExchange(gw.port, raw);
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer only');
  assert.ok(closed, "the connection ends with the origin's answer");
  assert.deepEqual(
    plain.seen.slice(before).map((r) => r.url),
    ['/chat'],
  );
});
