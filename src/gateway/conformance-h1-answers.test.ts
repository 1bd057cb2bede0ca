// Intermediary requirements of RFC 9110 and RFC 9112 on what origins answer, over HTTP/1.x: raw sockets on the
// client side, and on the origin side one that answers with whatever bytes a test gives it (broken framing, 1xx,
// odd versions) beside a well-behaved recording one. Each test is a row of docs/conformance.md, which names it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fieldOf,
  poolYaml,
  rawRequest,
  startGateway,
  startOrigin,
  startRawOrigin,
  statusOf,
  type RawOrigin,
  type TestGateway,
  type TestOrigin,
} from '../testing/harness.js';

let origin: TestOrigin;
let raw: RawOrigin;
let gw: TestGateway;

before(async () => {
  origin = await startOrigin('o', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
    res.end(req.method === 'HEAD' ? undefined : '0123456789');
  });
  raw = await startRawOrigin();
  gw = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0" }
${poolYaml([origin.url])}
  raw: { origins: [{ url: "${raw.url}" }], retries: { attempts: 0 } }
routes:
  - { name: raw, match: { path: { prefix: /raw } }, pool: raw }
  - { name: all, pool: main }
`);
});

after(async () => {
  await gw.close();
  await origin.close();
  await raw.close();
});

test('hop-by-hop response fields and those named in Connection do not reach the client', async () => {
  raw.answer =
    'HTTP/1.1 200 OK\r\nConnection: X-Hop, keep-alive\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nUpgrade: foo/1\r\n' +
    'Proxy-Authenticate: Basic realm="inner"\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok';
  const response = await rawRequest(gw.port, 'GET /raw/hop HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(response), 200);
  for (const gone of ['x-hop', 'keep-alive', 'upgrade', 'proxy-authenticate', 'proxy-connection'])
    assert.equal(fieldOf(response, gone), undefined, gone);
  assert.equal(fieldOf(response, 'x-kept'), 'yes');
  assert.equal(fieldOf(response, 'connection'), 'close', "the gateway's own connection option only");
});

test('HTTP/1.0 client: the origin is asked in HTTP/1.1, the answer has no chunked coding and the connection closes', async () => {
  raw.answer = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
  const response = await rawRequest(gw.port, 'GET /raw/old HTTP/1.0\r\nHost: a\r\n\r\n');
  assert.match(response, /^HTTP\/1\.1 200 /);
  assert.equal(fieldOf(response, 'transfer-encoding'), undefined);
  assert.equal(response.slice(response.indexOf('\r\n\r\n') + 4), 'abc', 'close-delimited body');
  assert.match(raw.heads.at(-1)!, /^GET \/raw\/old HTTP\/1\.1\r\n/);
});

const BROKEN_ANSWERS: Array<[string, string]> = [
  [
    'Content-Length with Transfer-Encoding',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  ],
  ['invalid Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc'],
  ['two differing Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nX-F: a\r\n b\r\nContent-Length: 3\r\n\r\nabc'],
  ['whitespace before the colon', 'HTTP/1.1 200 OK\r\nX-F : a\r\nContent-Length: 3\r\n\r\nabc'],
  ['NUL in a value', 'HTTP/1.1 200 OK\r\nX-F: a\x00b\r\nContent-Length: 3\r\n\r\nabc'],
  ['bare CR in a value', 'HTTP/1.1 200 OK\r\nX-F: a\rb\r\nContent-Length: 3\r\n\r\nabc'],
  ['status 600', 'HTTP/1.1 600 Odd\r\nContent-Length: 3\r\n\r\nabc'],
  ['status 099', 'HTTP/1.1 099 Odd\r\nContent-Length: 3\r\n\r\nabc'],
  [
    '101 to a request that asked no upgrade',
    'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: foo\r\n\r\n',
  ],
  ['unsolicited 100', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
];

for (const [label, answer] of BROKEN_ANSWERS) {
  test(`origin answer with broken framing or fields is a 502, never passed on: ${label}`, async () => {
    raw.answer = answer;
    const response = await rawRequest(gw.port, 'GET /raw/broken HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(response), 502, `${label}: ${JSON.stringify(response.slice(0, 160))}`);
    assert.equal(fieldOf(response, 'content-type'), 'application/problem+json');
  });
}

test('origin 1xx: 103 and 102 reach an HTTP/1.1 client before the answer, never an HTTP/1.0 one', async () => {
  raw.answer =
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  const response = await rawRequest(gw.port, 'GET /raw/early HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.match(response, /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/a\.css>; rel=preload\r\n\r\n/);
  assert.match(response, /\r\n\r\nHTTP\/1\.1 102 Processing\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  const old = await rawRequest(gw.port, 'GET /raw/early HTTP/1.0\r\nHost: a\r\n\r\n');
  assert.match(old, /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(old.match(/HTTP\/1\.1 /g)?.length, 1);
});

test('HEAD: the origin Content-Length is passed on, no body follows, and the connection serves the next request', async () => {
  const response = await rawRequest(
    gw.port,
    'HEAD /head HTTP/1.1\r\nHost: a\r\n\r\nGET /head HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  );
  assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(fieldOf(response, 'content-length'), '10');
  const second = response.indexOf('HTTP/1.1 200', 5);
  assert.equal(response.slice(response.indexOf('\r\n\r\n') + 4, second), '', 'no body after the HEAD answer');
  assert.ok(response.endsWith('0123456789'));
});

test('204 and 304 from the origin: no body and, for 204, no Content-Length reach the client', async () => {
  raw.answer = 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n';
  const noContent = await rawRequest(gw.port, 'GET /raw/204 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(noContent), 204);
  assert.equal(fieldOf(noContent, 'content-length'), undefined);
  assert.equal(fieldOf(noContent, 'transfer-encoding'), undefined);
  assert.ok(noContent.endsWith('\r\n\r\n'));
  raw.answer = 'HTTP/1.1 304 Not Modified\r\nETag: "e"\r\n\r\n';
  const notModified = await rawRequest(gw.port, 'GET /raw/304 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(notModified), 304);
  assert.equal(fieldOf(notModified, 'transfer-encoding'), undefined);
  assert.ok(notModified.endsWith('\r\n\r\n'));
});

test('an answer the origin cuts short is cut short to the client: no terminating chunk', async () => {
  const o = await startRawOrigin('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
  const g = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0" }
${poolYaml([o.url], '    retries: { attempts: 0 }\n')}
routes:
  - { name: all, pool: main }
`);
  try {
    const pending = rawRequest(g.port, 'GET /cut HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    setTimeout(() => void o.close(), 200); // the origin goes away mid-body
    const response = await pending;
    assert.equal(statusOf(response), 200);
    assert.match(response, /\r\n\r\n3\r\nabc\r\n/, 'what arrived was passed on');
    assert.ok(!response.endsWith('0\r\n\r\n'), JSON.stringify(response.slice(-40)));
  } finally {
    await g.close();
  }
});

test('an HTTP/1.0 origin: its close-delimited answer reaches an HTTP/1.1 client chunked and complete', async () => {
  raw.answer = 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nclose-delimited';
  // The raw origin never closes by itself: a close-delimited body needs the origin to close, so this origin does.
  const o = await startRawOrigin(raw.answer);
  const g = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0" }
${poolYaml([o.url])}
routes:
  - { name: all, pool: main }
`);
  try {
    const pending = rawRequest(g.port, 'GET /old HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    setTimeout(() => void o.close(), 200);
    const response = await pending;
    assert.equal(statusOf(response), 200);
    assert.equal(fieldOf(response, 'transfer-encoding'), 'chunked');
    assert.match(response, /close-delimited\r\n0\r\n\r\n$/);
  } finally {
    await g.close();
  }
});

test('Date: on answers the gateway makes, parse-error answers included, and added to an origin answer without one', async () => {
  const ownAnswer = await rawRequest(gw.port, 'GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
  assert.ok(fieldOf(ownAnswer, 'date'), 'a refusal');
  const parseError = await rawRequest(gw.port, 'GET /x HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n');
  assert.equal(statusOf(parseError), 400);
  assert.ok(Date.parse(fieldOf(parseError, 'date') ?? '') > 0, 'a parse-error answer');
  raw.answer = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  const forwarded = await rawRequest(gw.port, 'GET /raw/date HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.ok(Date.parse(fieldOf(forwarded, 'date') ?? '') > 0, 'an origin answer without Date');
});

test('retries: a reset after the request was sent is retried for GET, never for POST', async () => {
  const first = await startRawOrigin('');
  const second = await startRawOrigin('');
  const g = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0" }
${poolYaml([first.url, second.url], '    retries: { attempts: 2 }\n')}
routes:
  - { name: all, pool: main }
`);
  try {
    const post = await rawRequest(
      g.port,
      'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi',
    );
    assert.equal(statusOf(post), 502);
    assert.equal(first.heads.length + second.heads.length, 1, 'the POST reached one origin once');
    const get = await rawRequest(g.port, 'GET /g HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(get), 502);
    assert.ok(first.heads.length + second.heads.length > 2, 'the GET was tried again');
  } finally {
    await g.close();
    await first.close();
    await second.close();
  }
});

test('trailer fields of a chunked origin answer are dropped, the body is passed on whole', async () => {
  raw.answer = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n';
  const response = await rawRequest(gw.port, 'GET /raw/trailer HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(response), 200);
  assert.match(response, /\r\n\r\n3\r\nabc\r\n0\r\n\r\n$/);
  assert.equal(fieldOf(response, 'trailer'), undefined);
});
