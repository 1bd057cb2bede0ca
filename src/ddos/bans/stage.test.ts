// Bans end to end in one process, over loopback: the admin API (list, add, lift, validation, auth), refusals with
// 403 and Retry-After, automatic bans after rate-limit trips with growing ban times, CIDR bans, and the state
// file across a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblem } from '../../config/index.js';
import { loadConfigText } from '../../bulwark-config.js';
import {
  request,
  scratchDir,
  startGateway,
  startOrigin,
  type TestGateway,
  type TestOrigin,
} from '../../testing/harness.js';
import { waitFor } from '../../testing/spawn.js';

const TOKEN = 'bans-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let origin: TestOrigin;
let gw: TestGateway;
let dir: string;

const yaml = () => `
listeners: [{ name: public, address: "127.0.0.1:0" }]
admin: { address: "127.0.0.1:0", token: "${TOKEN}" }
bans: { state_file: bans.json }
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes:
  - name: limited
    match: { path: { prefix: /limited } }
    pool: main
    stages:
      ratelimit: { rules: [{ name: tiny, key: [client], rate: 1/m, burst: 1 }] }
      bans:
        triggers: [{ on: ratelimit, count: 2, within: 30s }]
        ban: 1500ms
        growth: 4
        max_ban: 1h
  - name: open
    pool: main
`;

before(async () => {
  origin = await startOrigin('o');
  dir = scratchDir();
  gw = await startGateway(yaml(), dir);
});

after(async () => {
  await gw.close();
  await origin.close();
});

const get = (path: string, from: string) => request(`${gw.url}${path}`, { localAddress: from });
const post = (body: unknown, headers: Record<string, string> = auth) =>
  request(`${gw.adminUrl}/v1/bans`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const del = (target: string) =>
  request(`${gw.adminUrl}/v1/bans/${encodeURIComponent(target)}`, { method: 'DELETE', headers: auth });
const list = async (query = '') =>
  (
    JSON.parse((await request(`${gw.adminUrl}/v1/bans${query}`, { headers: auth })).body) as {
      bans: Array<Record<string, unknown>>;
    }
  ).bans;

test('a manual ban refuses that client with 403 and Retry-After, not another; GET lists it; DELETE lifts it', async () => {
  const made = await post({ target: '127.0.0.2', duration: '10m', reason: 'ticket 42' });
  assert.equal(made.status, 201, made.body);
  assert.equal(JSON.parse(made.body).target, '127.0.0.2');

  const refused = await get('/anything', '127.0.0.2');
  assert.equal(refused.status, 403);
  const retryAfter = Number(refused.headers['retry-after']);
  assert.ok(retryAfter > 500 && retryAfter <= 600, `Retry-After ${retryAfter}`);
  const problem = JSON.parse(refused.body) as { code: string; request_id: string };
  assert.equal(problem.code, 'bans:banned');
  assert.equal(problem.request_id, refused.headers['x-request-id']);
  assert.equal((await get('/limited/x', '127.0.0.2')).status, 403, 'on every route');
  assert.equal((await get('/anything', '127.0.0.3')).status, 200, 'another client passes');

  const listed = await list('?target=127.0.0.2');
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.reason, 'ticket 42');
  assert.equal(listed[0]!.source, 'manual');
  assert.equal((await list('?target=127.0.0.9')).length, 0);
  assert.equal((await list('?covers=127.0.0.2')).length, 1);

  const metrics = (await request(`${gw.adminUrl}/metrics`)).body;
  assert.match(metrics, /^bulwark_ddos_bans_active [1-9]/m);
  assert.match(metrics, /^bulwark_ddos_bans_total\{source="manual",reason="manual"\} [1-9]/m);
  assert.match(metrics, /^bulwark_ddos_bans_refused_total\{route="open"\} [1-9]/m);
  const events = JSON.parse((await request(`${gw.adminUrl}/v1/events?type=ban`, { headers: auth })).body) as {
    events: Array<Record<string, unknown>>;
  };
  assert.ok(events.events.some((e) => e.action === 'ban' && e.target === '127.0.0.2' && e.source === 'manual'));
  assert.ok(events.events.some((e) => e.action === 'refused' && e.client === '127.0.0.2'));

  const lifted = await del('127.0.0.2');
  assert.equal(lifted.status, 200, lifted.body);
  assert.equal((await get('/anything', '127.0.0.2')).status, 200);
  assert.equal((await del('127.0.0.2')).status, 404);
  assert.equal((await list('?target=127.0.0.2')).length, 0);
});

test('bad targets and durations are refused with 400 and say why; without the token, 401', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ target: '127.0.0.300', duration: '1h' }, /not an IP address or CIDR/],
    [{ target: '10.0.0.0/40', duration: '1h' }, /prefix length/],
    [{ target: '0.0.0.0/0', duration: '1h' }, /every IPv4 client/],
    [{ duration: '1h' }, /target is missing/],
    [{ target: '127.0.0.4', duration: 'forever' }, /expected a duration such as/],
    [{ target: '127.0.0.4' }, /duration is missing/],
    [{ target: '127.0.0.4', duration: '500ms' }, /shorter than one second/],
    [{ target: '127.0.0.4', duration: '400d' }, /longer than 365 days/],
    [{ target: '127.0.0.4', duration: '1h', until: 5 }, /unknown field "until"/],
    ['{ nope', /not JSON/],
  ];
  for (const [body, message] of cases) {
    const r = await post(body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body}`);
    const e = JSON.parse(r.body) as { error: { code: string; message: string } };
    assert.equal(e.error.code, 'BWK_ERR_BAN_INVALID');
    assert.match(e.error.message, message);
  }
  assert.equal((await del('not-an-ip')).status, 400);
  const anonymous = await post({ target: '127.0.0.4', duration: '1h' }, {});
  assert.equal(anonymous.status, 401);
  assert.equal(JSON.parse(anonymous.body).error.code, 'BWK_ERR_ADMIN_UNAUTHORIZED');
  const wrong = await post({ target: '127.0.0.4', duration: '1h' }, { authorization: 'Bearer wrong-token-xxxxxxxxxx' });
  assert.equal(wrong.status, 401);
  const anonymousDelete = await request(`${gw.adminUrl}/v1/bans/127.0.0.4`, { method: 'DELETE' });
  assert.equal(anonymousDelete.status, 401);
  assert.equal((await get('/anything', '127.0.0.4')).status, 200, 'nothing was banned');
});

test('a CIDR ban refuses every client inside it', async () => {
  assert.equal((await post({ target: '127.0.1.0/24', duration: '1h' })).status, 201);
  assert.equal((await get('/a', '127.0.1.7')).status, 403);
  assert.equal((await get('/a', '127.0.1.200')).status, 403);
  assert.equal((await get('/a', '127.0.2.1')).status, 200);
  assert.equal((await list('?covers=127.0.1.99'))[0]?.target, '127.0.1.0/24');
  assert.equal((await del('127.0.1.0/24')).status, 200);
  assert.equal((await get('/a', '127.0.1.7')).status, 200);
});

test('automatic ban after rate-limit trips; it expires; the second offence bans growth times longer', async () => {
  const client = '127.0.0.5';
  const statuses = async (n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await get('/limited/x', client)).status);
    return out;
  };
  // Burst 1: one passes, two 429s are two trips, and the ban starts with the next request.
  assert.deepEqual(await statuses(4), [200, 429, 429, 403]);
  const first = (await list(`?target=${client}`))[0]!;
  assert.equal(first.source, 'auto');
  assert.equal(first.reason, 'ratelimit:tiny');
  assert.equal(first.strikes, 1);
  assert.ok(Number(first.expires_in) <= 2, `first ban: ${String(first.expires_in)} s left`);
  assert.equal((await get('/other', client)).status, 403, 'the ban holds on every route');

  await waitFor(async () => (await get('/other', client)).status === 200, 10_000, 'the first ban to expire');
  // The rate-limit bucket is still empty (1/m), so two requests are two more trips.
  assert.deepEqual(await statuses(3), [429, 429, 403]);
  const second = (await list(`?target=${client}`))[0]!;
  assert.equal(second.strikes, 2);
  // 1.5 s × 4 = 6 s: more than the whole first ban even after a slow request or two.
  assert.ok(Number(second.expires_in) > 3 && Number(second.expires_in) <= 6, `${String(second.expires_in)} s left`);
  const refused = await get('/other', client);
  assert.ok(Number(refused.headers['retry-after']) > 2, `Retry-After ${refused.headers['retry-after']}`);

  const metrics = (await request(`${gw.adminUrl}/metrics`)).body;
  assert.match(metrics, /^bulwark_ddos_bans_total\{source="auto",reason="ratelimit:tiny"\} 2$/m);
  const events = JSON.parse(
    (await request(`${gw.adminUrl}/v1/events?type=ban&route=limited`, { headers: auth })).body,
  ) as {
    events: Array<Record<string, unknown>>;
  };
  const bans = events.events.filter((e) => e.action === 'ban');
  assert.deepEqual(
    bans.map((e) => [e.target, e.strikes, e.source]),
    [
      [client, 1, 'auto'],
      [client, 2, 'auto'],
    ],
  );
  assert.match(String(bans[0]!.request_id), /\S/);
});

test('bans survive a restart with the same state_file', async () => {
  assert.equal((await post({ target: '127.0.0.6', duration: '1h', reason: 'kept' })).status, 201);
  assert.equal((await post({ target: '2001:db8::/32', duration: '1h' })).status, 201);
  // Written a moment after the change, not only at shutdown.
  const file = join(dir, 'bans.json');
  await waitFor(() => readFileSync(file, 'utf8').includes('2001:db8::/32'), 5000, 'the state file');
  await gw.close();
  gw = await startGateway(yaml(), dir);
  assert.equal((await get('/a', '127.0.0.6')).status, 403);
  assert.equal((await get('/a', '127.0.0.7')).status, 200);
  const kept = await list();
  assert.deepEqual(
    kept.filter((b) => b.source === 'manual').map((b) => [b.target, b.reason]),
    [
      ['127.0.0.6', 'kept'],
      ['2001:db8::/32', 'manual'],
    ],
  );
  assert.ok(kept.every((b) => Number(b.expires_in) > 0));
});

test('bad bans config is refused at load with its position', () => {
  const r = loadConfigText(
    `listeners: [{ name: p, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "http://127.0.0.1:1" }] } }
bans: { state_file: "" }
routes:
  - name: r
    pool: main
    stages:
      bans:
        triggers:
          - { on: Ratelimit, count: 0, within: 10s, status: 6xx }
        growth: 0.5
`,
    'bans.yaml',
    '/tmp',
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  const lines = r.problems.map(formatProblem).join('\n');
  assert.match(lines, /^bans\.yaml:3:\d+ .*state_file/m);
  assert.match(lines, /^bans\.yaml:10:\d+ .*on: got "Ratelimit"; expected "errors" or a stage name/m);
  assert.match(lines, /^bans\.yaml:10:\d+ .*count/m);
  assert.match(lines, /^bans\.yaml:10:\d+ .*status: got "6xx"; expected a status class/m);
  assert.match(lines, /^bans\.yaml:11:\d+ .*growth/m);
});
