// Admin API scopes: probes read without a token; everything under /v1/ needs one; the read token reads and the
// write token (or the older admin.token) does everything; a node with no token says how to set one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startGateway, startOrigin, type TestGateway, type TestOrigin } from '../testing/harness.js';

const READ = 'read-token-0123456789abcdef';
const WRITE = 'write-token-0123456789abcdef';
const OLD = 'older-admin-token-0123456789';
let origin: TestOrigin;
let scoped: TestGateway;
let older: TestGateway;
let bare: TestGateway;

const base = () => `
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes: [{ name: all, pool: main }]
`;

before(async () => {
  origin = await startOrigin('o');
  scoped = await startGateway(
    base() + `admin: { address: "127.0.0.1:0", tokens: { read: "${READ}", write: "${WRITE}" } }\n`,
  );
  older = await startGateway(base() + `admin: { address: "127.0.0.1:0", token: "${OLD}" }\n`);
  bare = await startGateway(base() + `admin: { address: "127.0.0.1:0" }\n`);
});

after(async () => {
  await Promise.all([scoped.close(), older.close(), bare.close()]);
  await origin.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const error = (body: string) => (JSON.parse(body) as { error: { code: string; message: string } }).error;

test('GET /v1/events without a token is 401 with WWW-Authenticate; a wrong token too', async () => {
  for (const headers of [{}, bearer('not-the-token-at-all'), { authorization: READ }, bearer('')]) {
    const r = await request(`${scoped.adminUrl}/v1/events`, { headers });
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="bulwark-admin"');
    assert.equal(error(r.body).code, 'BWK_ERR_ADMIN_UNAUTHORIZED');
    assert.doesNotMatch(r.body, /events/);
  }
  // Unknown paths under /v1/ give nothing away either.
  assert.equal((await request(`${scoped.adminUrl}/v1/nothing-here`)).status, 401);
});

test('probes and scrapers need no token', async () => {
  for (const path of ['/metrics', '/healthz', '/readyz']) {
    const r = await request(`${scoped.adminUrl}${path}`);
    assert.ok(r.status === 200 || r.status === 503, `${path}: ${r.status}`);
  }
});

test('the read token reads every /v1/ endpoint and changes nothing (403)', async () => {
  for (const path of ['/v1/events', '/v1/bans', '/v1/under-attack']) {
    assert.equal((await request(`${scoped.adminUrl}${path}`, { headers: bearer(READ) })).status, 200, path);
  }
  const ban = await request(`${scoped.adminUrl}/v1/bans`, {
    method: 'POST',
    headers: { ...bearer(READ), 'content-type': 'application/json' },
    body: JSON.stringify({ target: '192.0.2.1', duration: '1m' }),
  });
  assert.equal(ban.status, 403);
  assert.equal(error(ban.body).code, 'BWK_ERR_ADMIN_FORBIDDEN');
  const reload = await request(`${scoped.adminUrl}/config/reload`, { method: 'POST', headers: bearer(READ) });
  assert.equal(reload.status, 403);
  assert.equal(
    (await request(`${scoped.adminUrl}/v1/bans/192.0.2.1`, { method: 'DELETE', headers: bearer(READ) })).status,
    403,
  );
});

test('the write token reads and writes; admin.token is a write token', async () => {
  for (const [gw, token] of [
    [scoped, WRITE],
    [older, OLD],
  ] as const) {
    assert.equal((await request(`${gw.adminUrl}/v1/events`, { headers: bearer(token) })).status, 200);
    const ban = await request(`${gw.adminUrl}/v1/bans`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify({ target: '192.0.2.7', duration: '1m' }),
    });
    assert.equal(ban.status, 201, ban.body);
    const listed = await request(`${gw.adminUrl}/v1/bans?target=192.0.2.7`, { headers: bearer(token) });
    assert.equal((JSON.parse(listed.body) as { bans: unknown[] }).bans.length, 1);
    const lifted = await request(`${gw.adminUrl}/v1/bans/192.0.2.7`, { method: 'DELETE', headers: bearer(token) });
    assert.equal(lifted.status, 200);
    assert.equal(
      (await request(`${gw.adminUrl}/config/reload`, { method: 'POST', headers: bearer(token) })).status,
      200,
    );
  }
  // admin.token alone grants no read token: the older node refuses a made-up one.
  assert.equal((await request(`${older.adminUrl}/v1/events`, { headers: bearer(READ) })).status, 401);
});

test('with no token set, /v1/ reads and changes are refused with a message that says how to set one', async () => {
  const read = await request(`${bare.adminUrl}/v1/events`);
  assert.equal(read.status, 401);
  assert.match(error(read.body).message, /reads under \/v1\/ need a token and none is set: set admin\.tokens\.read/);
  const write = await request(`${bare.adminUrl}/config/reload`, { method: 'POST' });
  assert.equal(write.status, 401);
  assert.match(error(write.body).message, /set admin\.tokens\.write/);
  assert.equal((await request(`${bare.adminUrl}/healthz`)).status, 200);
});

test('a bad events query is 400 and says what is expected; the page says where to continue', async () => {
  const bad = await request(`${scoped.adminUrl}/v1/events?after=yesterday&order=up`, { headers: bearer(READ) });
  assert.equal(bad.status, 400);
  assert.equal(error(bad.body).code, 'BWK_ERR_ADMIN_BAD_REQUEST');
  assert.match(error(bad.body).message, /after must be a whole number.*order must be asc/);
  const page = await request(`${scoped.adminUrl}/v1/events?order=desc&limit=5`, { headers: bearer(READ) });
  assert.equal(page.status, 200);
  const body = JSON.parse(page.body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['events', 'first', 'last', 'next', 'order']);
  assert.equal(body['order'], 'desc');
});
