// Bounded fuzz: 10,000 randomly mutated raw requests against a live gateway on loopback. Nothing may crash the
// process, every answer must be a well-formed status line, and a normal request must be served afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  poolYaml,
  rawRequest,
  startGateway,
  startOrigin,
  type TestGateway,
  type TestOrigin,
} from '../testing/harness.js';

const COUNT = 10_000;
const CONCURRENCY = 64;

/** Mulberry32: small, fast, seeded, so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [
  'GET /a?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: fuzz\r\nAccept: */*\r\nCookie: s=1; t=2\r\n\r\n',
  'POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"k":"value"}',
  'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET http://a/abs HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n',
];
const NASTY = [
  '\r',
  '\n',
  '\0',
  '\x7f',
  '\xff',
  ' ',
  ':',
  '\t',
  '99999999999999999999',
  'ffffffffffffffff',
  '\r\n\r\n',
  'Content-Length: 5\r\n',
  'Transfer-Encoding: chunked\r\n',
];

function mutate(rand: () => number): Buffer {
  let s = SEEDS[Math.floor(rand() * SEEDS.length)]!;
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (s.length + 1));
    switch (Math.floor(rand() * 6)) {
      case 0: // flip a byte
        s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 256)) + s.slice(at + 1);
        break;
      case 1: // delete a run
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 8));
        break;
      case 2: // insert something nasty
        s = s.slice(0, at) + NASTY[Math.floor(rand() * NASTY.length)]! + s.slice(at);
        break;
      case 3: {
        // duplicate a header line
        const lines = s.split('\r\n');
        const i = 1 + Math.floor(rand() * Math.max(1, lines.length - 3));
        lines.splice(i, 0, lines[i] ?? '');
        s = lines.join('\r\n');
        break;
      }
      case 4: // truncate
        s = s.slice(0, at);
        break;
      default: // repeat a run (long values)
        s = s.slice(0, at) + s.slice(at, at + 4).repeat(1 + Math.floor(rand() * 200)) + s.slice(at);
    }
  }
  return Buffer.from(s, 'latin1');
}

let origin: TestOrigin;
let gw: TestGateway;
const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => uncaught.push(e);

before(async () => {
  process.on('uncaughtException', onUncaught);
  origin = await startOrigin('o');
  gw = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0", protocols: [http1, h2c] }
limits: { headers_timeout: 500ms }
${poolYaml([origin.url])}
routes:
  - { name: all, pool: main, limits: { body: 64KiB } }
`);
});

after(async () => {
  process.off('uncaughtException', onUncaught);
  await gw.close();
  await origin.close();
});

test(`${COUNT} mutated raw requests: no crash, well-formed answers, still serving`, { timeout: 120_000 }, async () => {
  const rand = prng(0xb01a4c);
  const statuses = new Map<string, number>();
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < COUNT && Date.now() - started < 90_000) {
      next++;
      const request = mutate(rand);
      const response = await rawRequest(gw.port, request, 1000, true);
      let key = 'closed';
      if (response.length > 0) {
        const m = /^HTTP\/1\.1 (\d{3}) /.exec(response);
        assert.ok(m, `malformed answer: ${JSON.stringify(response.slice(0, 80))}`);
        key = m[1]!;
        // Set FUZZ_DEBUG=502 (a status) to see the requests that got it.
        if (key === process.env.FUZZ_DEBUG) console.log(JSON.stringify(request.toString('latin1')));
      }
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const sent = [...statuses.values()].reduce((a, b) => a + b, 0);
  const summary = [...statuses]
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(`mutation fuzz: ${sent} requests in ${Date.now() - started} ms: ${summary}`);
  assert.equal(sent, COUNT, 'every request was sent within the time bound');
  assert.deepEqual(uncaught, []);
  const fine = await rawRequest(gw.port, 'GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.match(fine, /^HTTP\/1\.1 200 /);
});
