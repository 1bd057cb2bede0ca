import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem } from '../../config/index.js';
import { loadConfigText } from '../../bulwark-config.js';
import {
  rawRequest,
  request,
  startGateway,
  startOrigin,
  type TestGateway,
  type TestOrigin,
} from '../../testing/harness.js';
import { clientPrefix } from '../../lib/ip.js';

let origin: TestOrigin;
let gw: TestGateway;

before(async () => {
  origin = await startOrigin('o');
  gw = await startGateway(`
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes:
  - name: per-client
    match: { path: { prefix: /client } }
    pool: main
    stages: { ratelimit: { rules: [{ name: per-ip, key: [client], rate: 1/m, burst: 3 }] } }
  - name: per-prefix
    match: { path: { prefix: /prefix } }
    pool: main
    stages: { ratelimit: { rules: [{ name: per-net, key: [client_prefix], rate: 1/m, burst: 2 }] } }
  - name: per-key
    match: { path: { prefix: /key } }
    pool: main
    stages: { ratelimit: { rules: [{ name: per-key, key: [header:x-api-key, route], rate: 1/m, burst: 1 }] } }
  - name: pipelined
    match: { path: { prefix: /pipe } }
    pool: main
    stages: { ratelimit: { rules: [{ name: piped, key: [header:x-api-key], rate: 1/m, burst: 2 }] } }
  - name: shadow
    match: { path: { prefix: /shadow } }
    pool: main
    stages: { ratelimit: { rules: [{ name: trial, key: [client], rate: 1/m, burst: 1, shadow: true }] } }
  - name: quota
    match: { path: { prefix: /quota } }
    pool: main
    stages: { ratelimit: { rules: [{ name: daily, key: [client], quota: 3/d }] } }
  - name: both
    match: { path: { prefix: /both } }
    pool: main
    stages: { ratelimit: { rules: [{ name: mixed, key: [client], rate: 1/h, burst: 2, quota: 3/h }] } }
`);
});

after(async () => {
  await gw.close();
  await origin.close();
});

const statuses = async (n: number, path: string, opts: Parameters<typeof request>[1] = {}) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await request(`${gw.url}${path}`, opts)).status);
  return out;
};

test('per client address: the burst passes, then 429 with Retry-After and RateLimit headers', async () => {
  assert.deepEqual(await statuses(4, '/client', { localAddress: '127.0.0.2' }), [200, 200, 200, 429]);
  const limited = await request(`${gw.url}/client`, { localAddress: '127.0.0.2' });
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.equal(limited.headers['ratelimit-policy'], '"per-ip";q=3;w=180');
  assert.match(String(limited.headers['ratelimit']), /^"per-ip";r=0;t=\d+$/);
  const body = JSON.parse(limited.body) as { code: string; request_id: string };
  assert.equal(body.code, 'ratelimit:per-ip');
  assert.equal(body.request_id, limited.headers['x-request-id']);
  assert.deepEqual(await statuses(3, '/client', { localAddress: '127.0.0.3' }), [200, 200, 200], 'another client');
});

test('pipelined requests on one connection: admitted and refused answers come back in request order', async () => {
  const get = (n: number) => `GET /pipe?n=${n} HTTP/1.1\r\nHost: x\r\nX-Api-Key: piped\r\n\r\n`;
  const last = `GET /pipe?n=5 HTTP/1.1\r\nHost: x\r\nX-Api-Key: piped\r\nConnection: close\r\n\r\n`;
  const raw = await rawRequest(gw.port, get(1) + get(2) + get(3) + get(4) + last);
  // A problem body ends without a newline, so the next status line starts mid-line.
  const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  // Burst 2: the first two reach the origin (proxied, answered later), the other three are refused at once.
  assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
  const ids = [...raw.matchAll(/"request_id":"([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, 3, 'each refusal carries its own request id');
});

test('per /24: neighbours share one bucket', async () => {
  assert.equal(clientPrefix('192.0.2.77'), '192.0.2.0/24');
  assert.equal(clientPrefix('::ffff:192.0.2.77'), '192.0.2.0/24');
  assert.equal(clientPrefix('2001:db8:1:2:3:4:5:6'), '20010db800010002::/64');
  assert.deepEqual(await statuses(1, '/prefix', { localAddress: '127.0.0.4' }), [200]);
  assert.deepEqual(await statuses(2, '/prefix', { localAddress: '127.0.0.5' }), [200, 429]);
});

test('per header value and route; shadow rules count but never refuse', async () => {
  assert.deepEqual(await statuses(2, '/key', { headers: { 'x-api-key': 'a' } }), [200, 429]);
  assert.deepEqual(await statuses(1, '/key', { headers: { 'x-api-key': 'b' } }), [200]);
  assert.deepEqual(await statuses(3, '/shadow', { localAddress: '127.0.0.6' }), [200, 200, 200]);
  const m = await request(`${gw.adminUrl}/metrics`);
  assert.match(
    m.body,
    /bulwark_ddos_ratelimit_decisions_total\{route="shadow",rule="trial",decision="shadow_limited"\} 2/,
  );
  assert.match(m.body, /bulwark_pipeline_stage_outcomes_total\{stage="ratelimit",reason="ratelimit:per-ip"\} \d+/);
});

test('bad rate-limit config is refused at load with its position', () => {
  const r = loadConfigText(
    `listeners: [{ name: p, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "http://127.0.0.1:1" }] } }
routes:
  - name: r
    pool: main
    stages:
      ratelimit:
        rules:
          - { name: a, key: [clinet], rate: 0/s }
`,
    'rl.yaml',
    '/tmp',
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  const lines = r.problems.map(formatProblem);
  assert.ok(
    lines.some((l) => /^rl\.yaml:9:\d+ .*key\[0\]: got "clinet"; expected client, client_prefix/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /^rl\.yaml:9:\d+ .*rate: got "0\/s"; expected a rate/.test(l)),
    lines.join('\n'),
  );
});

test('quota: a count per window, 429 with the window in RateLimit-Policy; rate and quota on one rule', async () => {
  assert.deepEqual(await statuses(4, '/quota', { localAddress: '127.0.0.7' }), [200, 200, 200, 429]);
  const limited = await request(`${gw.url}/quota`, { localAddress: '127.0.0.7' });
  assert.equal(limited.status, 429);
  assert.equal(limited.headers['ratelimit-policy'], '"daily";q=3;w=86400');
  const retry = Number(limited.headers['retry-after']);
  assert.ok(retry >= 1 && retry <= 2 * 86400, String(retry));
  assert.equal(JSON.parse(limited.body).code, 'ratelimit:daily');
  // The burst of 2 refuses the third; the quota (3) did not count the refused one, nor does it refuse yet.
  assert.deepEqual(await statuses(3, '/both', { localAddress: '127.0.0.7' }), [200, 200, 429]);
});

test('a rule without rate or quota, a zero quota and a zero burst are refused at load with their position', () => {
  const r = loadConfigText(
    `listeners: [{ name: p, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "http://127.0.0.1:1" }] } }
routes:
  - name: r
    pool: main
    stages:
      ratelimit:
        rules:
          - { name: a, key: [client] }
          - { name: b, key: [client], quota: 0/m }
          - { name: c, key: [client], rate: 1/s, burst: 0 }
          - { name: d, key: [client], quota: 5/w }
`,
    'q.yaml',
    '/tmp',
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  const lines = r.problems.map(formatProblem).join('\n');
  assert.match(lines, /^q\.yaml:9:\d+ .*rules\[0\]: got .*; expected a rule with "rate" \(e\.g\. 100\/s\), "quota"/m);
  assert.match(lines, /^q\.yaml:10:\d+ .*rules\[1\]\.quota: got "0\/m"; expected a quota such as "1000\/m"/m);
  assert.match(lines, /^q\.yaml:11:\d+ .*rules\[2\]\.burst: must be >= 1/m);
  assert.match(lines, /^q\.yaml:12:\d+ .*rules\[3\]\.quota: got "5\/w"; expected a quota/m);
});

test('top-level rules apply on every route with one counter per key, before the route rules', async () => {
  const own = await startGateway(`
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
ratelimit: { rules: [{ name: node-wide, key: [client], quota: 4/h }] }
routes:
  - name: a
    match: { path: { prefix: /a } }
    pool: main
  - name: b
    match: { path: { prefix: /b } }
    pool: main
    stages: { ratelimit: { rules: [{ name: b-only, key: [client], rate: 1/h, burst: 1 }] } }
`);
  try {
    const send = async (path: string, localAddress: string) => {
      const r = await request(`${own.url}${path}`, { localAddress });
      return r.status === 429 ? `429 ${JSON.parse(r.body).code}` : String(r.status);
    };
    const c = '127.0.0.20';
    // b's own rule refuses its second request; the node-wide quota counts requests on both routes (4 in all).
    assert.deepEqual(
      [await send('/a', c), await send('/b', c), await send('/b', c), await send('/a', c), await send('/a', c)],
      ['200', '200', '429 ratelimit:b-only', '200', '429 ratelimit:node-wide'],
    );
    assert.equal(await send('/b', c), '429 ratelimit:node-wide', 'the global rule is checked first');
    assert.equal(await send('/a', '127.0.0.21'), '200', 'another client has its own counter');
  } finally {
    await own.close();
  }
});
