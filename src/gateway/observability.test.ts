// Access log lines (JSON, file destination, chosen fields), health and readiness endpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, scratchDir, startGateway, startOrigin } from '../testing/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the access log writes one JSON line per request with the configured fields', async () => {
  const origin = await startOrigin('o');
  const dir = scratchDir();
  const file = join(dir, 'logs', 'access.log');
  const gw = await startGateway(
    `
listeners: [{ name: public, address: "127.0.0.1:0" }]
log:
  level: silent
  access: { destination: "${file}", fields: [id, route, method, path, status, client, attempts] }
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes:
  - name: blocked
    match: { path: { prefix: /admin } }
    pool: main
    stages: { access: { rules: [{ action: deny }] } }
  - { name: all, pool: main }
`,
    dir,
  );
  const ok = await request(`${gw.url}/hello`);
  const denied = await request(`${gw.url}/admin`);
  for (let i = 0; i < 40 && !(existsSync(file) && readFileSync(file, 'utf8').split('\n').length > 2); i++)
    await sleep(50);
  await gw.close();
  await origin.close();
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.deepEqual(
    Object.keys(lines[0]!).sort(),
    ['attempts', 'client', 'id', 'method', 'path', 'route', 'status', 'time'].sort(),
  );
  assert.deepEqual(
    { id: lines[0]!.id, route: lines[0]!.route, status: lines[0]!.status, attempts: lines[0]!.attempts },
    { id: ok.headers['x-request-id'], route: 'all', status: 200, attempts: 1 },
  );
  assert.equal(lines[1]!.id, denied.headers['x-request-id']);
  assert.equal(lines[1]!.status, 403);
  assert.equal(lines[1]!.attempts, 0, 'a denied request never reached an origin');
});

test('/healthz is up while /readyz follows origin health', async () => {
  const origin = await startOrigin('o');
  const gw = await startGateway(`
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools:
  main:
    origins: [{ url: "${origin.url}" }]
    health: { path: /healthz, interval: 50ms, timeout: 100ms, unhealthy: 1, healthy: 1 }
routes: [{ name: all, pool: main }]
`);
  assert.equal((await request(`${gw.adminUrl}/healthz`)).status, 200);
  assert.equal((await request(`${gw.adminUrl}/readyz`)).status, 200);
  await origin.close();
  let ready = 200;
  for (let i = 0; i < 40 && ready === 200; i++) {
    await sleep(50);
    ready = (await request(`${gw.adminUrl}/readyz`)).status;
  }
  assert.equal(ready, 503);
  assert.equal((await request(`${gw.adminUrl}/healthz`)).status, 200);
  const noOrigin = await request(`${gw.url}/`);
  assert.equal(noOrigin.status, 503);
  assert.equal(noOrigin.headers['retry-after'], '5');
  assert.equal(JSON.parse(noOrigin.body).code, 'BWK_ERR_GATEWAY_NO_ORIGIN');
  assert.equal((await request(`${gw.adminUrl}/nope`)).status, 404);
  await gw.close();
});
