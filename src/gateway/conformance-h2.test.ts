// Intermediary requirements of RFC 9113 §8 (and RFC 9110 where HTTP/2 changes how they are met) on an h2c listener:
// malformed requests as hand-written frames, the rest with node:http2's client; a recording origin behind, spoken
// to in HTTP/1.1. Each test is a row of docs/conformance.md, which names it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { answered, dataFrame, h2Exchange, headersFrame, resetCode } from '../testing/h2-raw.js';
import {
  poolYaml,
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
let client: http2.ClientHttp2Session;

before(async () => {
  origin = await startOrigin('o');
  raw = await startRawOrigin();
  gw = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0", protocols: [http1, h2c] }
${poolYaml([origin.url])}
  raw: { origins: [{ url: "${raw.url}" }], retries: { attempts: 0 } }
routes:
  - { name: raw, match: { path: { prefix: /raw } }, pool: raw }
  - { name: all, pool: main }
`);
  client = http2.connect(gw.url);
  client.on('error', () => {});
});

after(async () => {
  client.close();
  await gw.close();
  await origin.close();
  await raw.close();
});

interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  /** 1xx answers seen before the final one. */
  interim: number[];
}

/** One request on the shared session; `body` is sent only after a 100 when the request expects one. */
function h2Request(headers: http2.OutgoingHttpHeaders, body?: string): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const expects = headers.expect === '100-continue';
    const stream = client.request(headers, { endStream: body === undefined });
    const interim: number[] = [];
    let answer: http2.IncomingHttpHeaders = {};
    let text = '';
    stream.on('headers', (h) => interim.push(Number(h[':status'])));
    stream.on('continue', () => stream.end(body));
    stream.on('response', (h) => (answer = h));
    stream.on('data', (d: Buffer) => (text += d.toString()));
    stream.on('end', () => resolve({ status: Number(answer[':status']), headers: answer, body: text, interim }));
    stream.on('error', reject);
    if (body !== undefined && !expects) stream.end(body);
  });
}

const BASE: Array<[string, string]> = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':authority', 'a.example'],
];

/** Sends one hand-written request on stream 1; true when the gateway reset it or answered 400, and nothing left. */
async function malformed(fields: Array<[string, string]>, extra: Buffer[] = [], endStream = true): Promise<void> {
  const before = origin.seen.length;
  const frames = await h2Exchange(gw.port, [headersFrame(1, fields, endStream), ...extra]);
  const code = resetCode(frames, 1);
  assert.ok(
    code === 1 || answered(frames, 1),
    `stream reset with PROTOCOL_ERROR or answered: ${JSON.stringify(fields)}`,
  );
  if (code === undefined) {
    // Answered instead of reset: only a refusal may come back, so the answer is one of the gateway's own.
    assert.equal(origin.seen.length, before);
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(origin.seen.length, before, `nothing forwarded: ${JSON.stringify(fields)}`);
}

test('h2: a hand-written well-formed request is answered and forwarded (the raw helper is sound)', async () => {
  const before = origin.seen.length;
  const frames = await h2Exchange(gw.port, [headersFrame(1, [...BASE, [':path', '/raw-ok']], true)]);
  assert.ok(answered(frames, 1));
  assert.equal(resetCode(frames, 1), undefined);
  assert.equal(origin.seen.length, before + 1);
});

test('h2: connection-specific fields make a request malformed and it is not forwarded', async () => {
  for (const [name, value] of [
    ['connection', 'keep-alive'],
    ['keep-alive', 'timeout=5'],
    ['proxy-connection', 'keep-alive'],
    ['transfer-encoding', 'chunked'],
    ['upgrade', 'websocket'],
  ] as Array<[string, string]>) {
    await malformed([...BASE, [':path', '/cs'], [name, value]]);
  }
});

test('h2: TE other than "trailers" is malformed; TE: trailers is accepted and not forwarded', async () => {
  await malformed([...BASE, [':path', '/te'], ['te', 'gzip']]);
  const r = await h2Request({ ':path': '/te-ok', te: 'trailers' });
  assert.equal(r.status, 200);
  assert.equal(origin.seen.at(-1)!.headers.te, undefined);
});

test('h2: upper-case names, pseudo-headers after fields, repeated, unknown or missing are malformed', async () => {
  await malformed([...BASE, [':path', '/m'], ['X-Upper', '1']]);
  await malformed([
    [':method', 'GET'],
    [':scheme', 'http'],
    ['x-a', '1'],
    [':path', '/m'],
  ]);
  await malformed([...BASE, [':path', '/m'], [':path', '/n']]);
  await malformed([...BASE, [':path', '/m'], [':foo', '1']]);
  await malformed(BASE);
});

test('h2: a field with NUL, CR, LF, edge whitespace or a space in its name never reaches the origin', async () => {
  // nghttp2 drops such a field instead of resetting the stream (docs/conformance.md says why that is accepted):
  // the request goes on without it.
  for (const [name, value] of [
    ['x-bad', 'b\x00c'],
    ['x-bad', 'b\rc'],
    ['x-bad', 'b\nc'],
    ['x-bad', ' b'],
    ['x-bad', 'b '],
    ['x bad', 'b'],
  ] as Array<[string, string]>) {
    const before = origin.seen.length;
    const frames = await h2Exchange(gw.port, [
      headersFrame(1, [...BASE, [':path', '/bad-field'], [name, value]], true),
    ]);
    assert.ok(answered(frames, 1) || resetCode(frames, 1) === 1);
    if (origin.seen.length > before) {
      const lines = origin.seen.at(-1)!.rawHeaders;
      assert.ok(!lines.some((l, i) => i % 2 === 0 && /^x.bad$/i.test(l)), JSON.stringify(lines));
    }
  }
});

test('h2: a content-length that the DATA frames contradict is malformed; the origin never gets the request', async () => {
  await malformed(
    [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':authority', 'a'],
      [':path', '/cl'],
      ['content-length', '10'],
    ],
    [dataFrame(1, 'abc', true)],
    false,
  );
});

test('h2: an absolute URI in :path is malformed', async () => {
  await malformed([...BASE, [':path', 'http://b.example/x']]);
});

test('h2: Host comes from :authority; a Host naming another authority or two Hosts is 400', async () => {
  const same = await h2Request({ ':path': '/auth', ':authority': 'a.example', host: 'A.example:80' });
  assert.equal(same.status, 200, 'the same authority after normalisation (case, default port) passes');
  const lines = origin.seen.at(-1)!.rawHeaders;
  assert.deepEqual(
    lines.filter((_, i) => i % 2 === 0 && lines[i]!.toLowerCase() === 'host').length,
    1,
    'exactly one Host',
  );
  assert.equal(origin.seen.at(-1)!.headers.host, 'a.example', 'the :authority value');
  const other = await h2Request({ ':path': '/auth', ':authority': 'a.example', host: 'b.example' });
  assert.equal(other.status, 400);
  assert.equal(other.headers['content-type'], 'application/problem+json');
  const before = origin.seen.length;
  const frames = await h2Exchange(gw.port, [
    headersFrame(1, [...BASE, [':path', '/two'], ['host', 'a.example'], ['host', 'a.example']], true),
  ]);
  assert.ok(answered(frames, 1) || resetCode(frames, 1) === 1);
  assert.equal(origin.seen.length, before, 'two Host fields are not forwarded');
  const hostOnly = await h2Exchange(gw.port, [
    headersFrame(
      1,
      [
        [':method', 'GET'],
        [':scheme', 'http'],
        [':path', '/host-only'],
        ['host', 'c.example'],
      ],
      true,
    ),
  ]);
  assert.ok(answered(hostOnly, 1));
  assert.equal(origin.seen.at(-1)!.headers.host, 'c.example', 'without :authority, Host is the authority');
});

test('h2: cookie crumbs reach the HTTP/1.1 origin as one Cookie joined with "; "', async () => {
  const r = await h2Request({ ':path': '/cookies', cookie: ['a=1', 'b=2', 'c=3'] });
  assert.equal(r.status, 200);
  const lines = origin.seen.at(-1)!.rawHeaders;
  const cookies = lines.filter((_, i) => i % 2 === 1 && lines[i - 1]!.toLowerCase() === 'cookie');
  assert.deepEqual(cookies, ['a=1; b=2; c=3']);
});

test('h2: the origin is asked in HTTP/1.1 with Via "2 bulwark"; the answer names no gateway', async () => {
  const r = await h2Request({ ':path': '/via', via: '1.1 edge' });
  assert.equal(r.status, 200);
  assert.equal(origin.seen.at(-1)!.httpVersion, '1.1');
  assert.equal(origin.seen.at(-1)!.headers.via, '1.1 edge, 2 bulwark');
  assert.equal(r.headers.via, undefined);
});

test('h2: CONNECT and TRACE get 405 and are not forwarded', async () => {
  const before = origin.seen.length;
  const connect = await h2Request({ ':method': 'CONNECT', ':authority': 'a.example:443' });
  assert.equal(connect.status, 405);
  const trace = await h2Request({ ':method': 'TRACE', ':path': '/t' });
  assert.equal(trace.status, 405);
  assert.equal(origin.seen.length, before);
});

test('h2: Expect: 100-continue gets a 100 before the body is sent; another expectation gets 417', async () => {
  const r = await h2Request({ ':method': 'POST', ':path': '/expect', expect: '100-continue' }, 'hello');
  assert.equal(r.status, 200);
  assert.deepEqual(r.interim, [100]);
  assert.equal(origin.seen.at(-1)!.body.toString(), 'hello');
  assert.equal(origin.seen.at(-1)!.headers.expect, undefined);
  const odd = await h2Request({ ':method': 'POST', ':path': '/expect', expect: 'teapot' }, 'x');
  assert.equal(odd.status, 417);
});

test('h2: connection-specific fields in the origin answer are removed before it becomes HTTP/2', async () => {
  raw.answer =
    'HTTP/1.1 200 OK\r\nConnection: X-Hop, keep-alive\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nUpgrade: foo/1\r\n' +
    'Proxy-Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nX-Kept: yes\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
  const r = await h2Request({ ':path': '/raw/hop' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'abc');
  for (const gone of ['connection', 'x-hop', 'keep-alive', 'upgrade', 'proxy-connection', 'transfer-encoding'])
    assert.equal(r.headers[gone], undefined, gone);
  assert.equal(r.headers['x-kept'], 'yes');
});

test('h2: origin 1xx (103, 102) are passed to the HTTP/2 client before the answer', async () => {
  raw.answer =
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  const r = await h2Request({ ':path': '/raw/early' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.interim, [103, 102]);
});
