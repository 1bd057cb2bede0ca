// Intermediary requirements of RFC 9110 and RFC 9112 on requests over HTTP/1.x, as raw bytes against a real listener
// and an origin that records what it received (conformance-h1-answers.test.ts covers what origins answer). Each test
// is a row (or a few) of docs/conformance.md, which names it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import {
  fieldOf,
  poolYaml,
  rawRequest,
  startGateway,
  startOrigin,
  statusOf,
  type TestGateway,
  type TestOrigin,
} from '../testing/harness.js';

let origin: TestOrigin;
let gw: TestGateway;

before(async () => {
  origin = await startOrigin('o', (req, res) => {
    if (req.url === '/head') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.end(req.method === 'HEAD' ? undefined : '0123456789');
    } else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('slow'), 150);
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.url}`);
  });
  gw = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0" }
${poolYaml([origin.url])}
routes:
  - { name: all, pool: main }
`);
});

after(async () => {
  await gw.close();
  await origin.close();
});

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
