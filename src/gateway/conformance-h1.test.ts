// Intermediary requirements of RFC 9110 and RFC 9112 over HTTP/1.x, as raw bytes against a real listener, with an
// origin that records what it received and one that answers with whatever bytes a test gives it. Each test is a row
// (or a few) of docs/conformance.md, which names it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import {
  poolYaml,
  rawRequest,
  startGateway,
  startOrigin,
  startRawOrigin,
  type RawOrigin,
  type TestGateway,
  type TestOrigin,
} from '../testing/harness.js';

let origin: TestOrigin;
let raw: RawOrigin;
let gw: TestGateway;

before(async () => {
  origin = await startOrigin('o', (req, res) => {
    if (req.url === '/head') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.end(req.method === 'HEAD' ? undefined : '0123456789');
    } else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('slow'), 150);
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.url}`);
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

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1] ?? 0);
}

/** The value of `name` in the first header block of `response`, or undefined. */
function fieldOf(response: string, name: string): string | undefined {
  const head = response.slice(0, response.indexOf('\r\n\r\n'));
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/** Header lines as the origin received them, names lower-cased, repeats kept. */
function received(index = -1): Array<[string, string]> {
  const seen = origin.seen.at(index)!;
  const out: Array<[string, string]> = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2)
    out.push([seen.rawHeaders[i]!.toLowerCase(), seen.rawHeaders[i + 1]!]);
  return out;
}

function valuesOf(lines: Array<[string, string]>, name: string): string[] {
  return lines.filter(([n]) => n === name).map(([, v]) => v);
}

async function refusedBeforeOrigin(request: string, status: number, label: string): Promise<string> {
  const before = origin.seen.length;
  const response = await rawRequest(gw.port, request);
  assert.equal(statusOf(response), status, `${label}: ${JSON.stringify(response.slice(0, 160))}`);
  assert.equal(fieldOf(response, 'content-type'), 'application/problem+json', label);
  assert.equal(origin.seen.length, before, `${label}: the origin saw nothing`);
  return response;
}

test('absolute-form: the target authority replaces Host; path and query go on byte for byte', async () => {
  const response = await rawRequest(
    gw.port,
    'GET http://Other.Example:8080/p/../q?a=%41&b="x" HTTP/1.1\r\nHost: client.example\r\nConnection: close\r\n\r\n',
  );
  assert.equal(statusOf(response), 200);
  const seen = origin.seen.at(-1)!;
  assert.equal(seen.url, '/p/../q?a=%41&b="x"', 'no dot-segment removal, no re-encoding');
  assert.deepEqual(valuesOf(received(), 'host'), ['Other.Example:8080'], 'one Host, the target authority');
  assert.equal(received()[0]![0], 'host', 'Host first');
  const query = await rawRequest(gw.port, 'GET http://a.example?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(query), 200);
  assert.equal(origin.seen.at(-1)!.url, '/?x=1', 'an empty path becomes "/"');
});

test('absolute-form: another scheme, userinfo or an empty host is refused with 400', async () => {
  for (const target of ['ftp://a.example/x', 'http://user@a.example/x', 'http:///x', 'http://a b/']) {
    const response = await rawRequest(gw.port, `GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.equal(statusOf(response), 400, `${target}: ${JSON.stringify(response.slice(0, 120))}`);
  }
});

test('absolute-form OPTIONS without a path is asterisk-form: answered by the gateway', async () => {
  const before = origin.seen.length;
  const response = await rawRequest(
    gw.port,
    'OPTIONS http://a.example HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  );
  assert.equal(statusOf(response), 200);
  assert.match(fieldOf(response, 'allow') ?? '', /OPTIONS/);
  assert.equal(origin.seen.length, before);
});

test('authority-form outside CONNECT is refused with 400', async () => {
  await refusedBeforeOrigin('GET a.example:80 HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'authority-form GET');
});

test('asterisk-form: OPTIONS * gets 200 with Allow and Content-Length: 0 from the gateway; GET * gets 400', async () => {
  const before = origin.seen.length;
  const response = await rawRequest(gw.port, 'OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(response), 200);
  assert.equal(fieldOf(response, 'content-length'), '0');
  assert.match(fieldOf(response, 'allow') ?? '', /GET/);
  assert.equal(origin.seen.length, before, 'no origin involved');
  await refusedBeforeOrigin('GET * HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'GET *');
});

test('TRACE is refused with 405 and Allow, never forwarded', async () => {
  const response = await refusedBeforeOrigin('TRACE /x HTTP/1.1\r\nHost: a\r\nMax-Forwards: 5\r\n\r\n', 405, 'TRACE');
  assert.match(fieldOf(response, 'allow') ?? '', /GET/);
  assert.doesNotMatch(fieldOf(response, 'allow') ?? '', /TRACE/);
});

test('Max-Forwards on OPTIONS: 0 is answered here, n goes on as n-1, a non-number is 400', async () => {
  const before = origin.seen.length;
  const zero = await rawRequest(
    gw.port,
    'OPTIONS /x HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\nConnection: close\r\n\r\n',
  );
  assert.equal(statusOf(zero), 200);
  assert.equal(fieldOf(zero, 'content-length'), '0');
  assert.equal(origin.seen.length, before, 'Max-Forwards: 0 is not forwarded');
  const three = await rawRequest(
    gw.port,
    'OPTIONS /x HTTP/1.1\r\nHost: a\r\nMax-Forwards: 3\r\nConnection: close\r\n\r\n',
  );
  assert.equal(statusOf(three), 200);
  assert.deepEqual(valuesOf(received(), 'max-forwards'), ['2']);
  const bad = await rawRequest(
    gw.port,
    'OPTIONS /x HTTP/1.1\r\nHost: a\r\nMax-Forwards: two\r\nConnection: close\r\n\r\n',
  );
  assert.equal(statusOf(bad), 400);
});

test('Max-Forwards on other methods is passed on unchanged', async () => {
  const response = await rawRequest(
    gw.port,
    'GET /mf HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\nConnection: close\r\n\r\n',
  );
  assert.equal(statusOf(response), 200);
  assert.deepEqual(valuesOf(received(), 'max-forwards'), ['0']);
});

test('Via: "1.1 bulwark" (or "1.0 bulwark") is appended to the request; the response gets none', async () => {
  const r11 = await rawRequest(
    gw.port,
    'GET /v HTTP/1.1\r\nHost: a\r\nVia: 1.0 fred, 1.1 p.example\r\nConnection: close\r\n\r\n',
  );
  assert.deepEqual(valuesOf(received(), 'via'), ['1.0 fred, 1.1 p.example, 1.1 bulwark']);
  assert.equal(fieldOf(r11, 'via'), undefined, 'responses do not name the gateway');
  await rawRequest(gw.port, 'GET /v HTTP/1.0\r\nHost: a\r\n\r\n');
  assert.deepEqual(valuesOf(received(), 'via'), ['1.0 bulwark']);
});

test('Via loop: a request that already passed through Bulwark five times gets 508', async () => {
  const via = Array.from({ length: 5 }, () => '1.1 bulwark').join(', ');
  await refusedBeforeOrigin(`GET /loop HTTP/1.1\r\nHost: a\r\nVia: ${via}\r\n\r\n`, 508, 'Via loop');
  const four = await rawRequest(
    gw.port,
    `GET /loop HTTP/1.1\r\nHost: a\r\nVia: ${via.slice(13)}\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(statusOf(four), 200, 'four earlier passes are a chain, not a loop');
});

test('Via loop: a pool pointed at its own listener ends in 508, not in a storm of connections', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const self = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:${port}" }
${poolYaml([`http://127.0.0.1:${port}`], '    retries: { attempts: 0 }\n')}
routes:
  - { name: all, pool: main }
`);
  try {
    const response = await rawRequest(self.port, 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 5000);
    assert.equal(statusOf(response), 508, JSON.stringify(response.slice(0, 200)));
  } finally {
    await self.close();
  }
});

test('hop-by-hop request fields and those named in Connection are not forwarded', async () => {
  const response = await rawRequest(
    gw.port,
    'GET /hop HTTP/1.1\r\nHost: a\r\nConnection: X-Listed, close\r\nX-Listed: 1\r\nKeep-Alive: timeout=5\r\n' +
      'Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: foo/1\r\nProxy-Authorization: Basic eDp5\r\n' +
      'HTTP2-Settings: AAMAAABkAAQAAP__\r\nX-Kept: yes\r\n\r\n',
  );
  assert.equal(statusOf(response), 200);
  const names = received().map(([n]) => n);
  for (const gone of [
    'x-listed',
    'keep-alive',
    'proxy-connection',
    'te',
    'upgrade',
    'proxy-authorization',
    'http2-settings',
  ])
    assert.ok(!names.includes(gone), gone);
  assert.deepEqual(valuesOf(received(), 'x-kept'), ['yes']);
  assert.deepEqual(valuesOf(received(), 'connection'), ['keep-alive'], "only undici's own connection option");
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

test('Cookie lines reach the origin as one line joined with "; "', async () => {
  await rawRequest(gw.port, 'GET /c HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n');
  assert.deepEqual(valuesOf(received(), 'cookie'), ['a=1; b=2']);
});

test('Transfer-Encoding: chunked after another coding gets 501, one not ending in chunked or in HTTP/1.0 gets 400', async () => {
  const gzipped = await refusedBeforeOrigin(
    'POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    501,
    'gzip, chunked',
  );
  assert.equal(fieldOf(gzipped, 'connection'), 'close', 'the unread body cannot be framed: the connection closes');
  await refusedBeforeOrigin(
    'POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    400,
    'chunked, gzip',
  );
  await refusedBeforeOrigin(
    'POST /te HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    400,
    'HTTP/1.0 chunked',
  );
});

test('chunked request: extensions ignored, trailer fields dropped, the origin gets the decoded body', async () => {
  const response = await rawRequest(
    gw.port,
    'POST /chunks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
      '3;name=value\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n',
  );
  assert.equal(statusOf(response), 200);
  const seen = origin.seen.at(-1)!;
  assert.equal(seen.body.toString(), 'abcde');
  assert.equal(seen.headers['x-trailer'], undefined, 'a trailer is not promoted to a header');
});

test('Expect: an unknown expectation gets 417; 100-continue from HTTP/1.0 is ignored; Expect is never forwarded', async () => {
  const before = origin.seen.length;
  const odd = await rawRequest(gw.port, 'POST /e HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx');
  assert.equal(statusOf(odd), 417);
  assert.equal(fieldOf(odd, 'content-type'), 'application/problem+json');
  assert.equal(origin.seen.length, before);
  const old = await rawRequest(
    gw.port,
    'POST /e HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc',
  );
  assert.equal(statusOf(old), 200);
  assert.doesNotMatch(old, /^HTTP\/1\.1 100/, 'no interim answer to an HTTP/1.0 client');
  assert.equal(origin.seen.at(-1)!.body.toString(), 'abc');
  assert.equal(origin.seen.at(-1)!.headers.expect, undefined);
});

test('HTTP/1.0 client: the origin is asked in HTTP/1.1, the answer has no chunked coding and the connection closes', async () => {
  raw.answer = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
  const response = await rawRequest(gw.port, 'GET /raw/old HTTP/1.0\r\nHost: a\r\n\r\n');
  assert.match(response, /^HTTP\/1\.1 200 /);
  assert.equal(fieldOf(response, 'transfer-encoding'), undefined);
  assert.equal(response.slice(response.indexOf('\r\n\r\n') + 4), 'abc', 'close-delimited body');
  assert.match(raw.heads.at(-1)!, /^GET \/raw\/old HTTP\/1\.1\r\n/);
});

test('HTTP/1.0 client without Host is served; the origin gets an HTTP/1.1 request with a Host', async () => {
  const response = await rawRequest(gw.port, 'GET /nohost HTTP/1.0\r\n\r\n');
  assert.equal(statusOf(response), 200);
  assert.equal(origin.seen.at(-1)!.httpVersion, '1.1');
  assert.equal(valuesOf(received(), 'host').length, 1);
});

test('HTTP/1.0 keep-alive: kept only when the client asks and the answer has a length', async () => {
  const answers = await rawRequest(
    gw.port,
    'GET /head HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET /head HTTP/1.0\r\nHost: a\r\n\r\n',
  );
  assert.equal(answers.match(/HTTP\/1\.1 200 /g)?.length, 2, 'the first connection was kept for the second request');
  assert.equal(fieldOf(answers, 'connection')?.toLowerCase(), 'keep-alive');
});

test('Connection: close: the answer says close and a request pipelined after it is not processed', async () => {
  const before = origin.seen.length;
  const response = await rawRequest(
    gw.port,
    'GET /one HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n',
  );
  assert.equal(response.match(/HTTP\/1\.1 /g)?.length, 1);
  assert.equal(fieldOf(response, 'connection'), 'close');
  assert.equal(origin.seen.length, before + 1);
  assert.equal(origin.seen.at(-1)!.url, '/one');
});

test('pipelined requests are answered in order even when the first is slower', async () => {
  const response = await rawRequest(
    gw.port,
    'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  );
  const slow = response.indexOf('\r\nslow\r\n');
  const fast = response.indexOf('GET /fast');
  assert.ok(slow > 0 && fast > slow, JSON.stringify(response));
});

test('leading empty lines before the request line are ignored; whitespace before the first field is 400', async () => {
  const response = await rawRequest(gw.port, '\r\n\r\nGET /lead HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(response), 200);
  await refusedBeforeOrigin('GET /ws HTTP/1.1\r\n Host: a\r\n\r\n', 400, 'whitespace-preceded line');
});

test('request field values with NUL, CR or LF are refused with 400', async () => {
  await refusedBeforeOrigin('GET /nul HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n', 400, 'NUL');
  await refusedBeforeOrigin('GET /cr HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n', 400, 'CR');
  await refusedBeforeOrigin('GET /lf HTTP/1.1\r\nHost: a\r\nX-A: b\nc: d\r\n\r\n', 400, 'bare LF splitting a value');
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

test('fields with the same name reach the origin in the order the client sent them', async () => {
  await rawRequest(
    gw.port,
    'GET /order HTTP/1.1\r\nHost: a\r\nX-M: 1\r\nX-Other: o\r\nX-M: 2\r\nConnection: close\r\n\r\n',
  );
  assert.deepEqual(valuesOf(received(), 'x-m'), ['1', '2']);
});

test('a request body cut short by the client never reaches the origin as a complete request', async () => {
  const before = origin.seen.length;
  await rawRequest(gw.port, 'POST /short HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', 1000, true);
  const chunked = 'POST /short HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n';
  await rawRequest(gw.port, chunked, 1000, true);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(origin.seen.length, before);
});

test('trailer fields of a chunked origin answer are dropped, the body is passed on whole', async () => {
  raw.answer = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n';
  const response = await rawRequest(gw.port, 'GET /raw/trailer HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(statusOf(response), 200);
  assert.match(response, /\r\n\r\n3\r\nabc\r\n0\r\n\r\n$/);
  assert.equal(fieldOf(response, 'trailer'), undefined);
});
