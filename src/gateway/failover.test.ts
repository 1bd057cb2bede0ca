import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request, startGateway, startOrigin } from '../testing/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('one of two origins dies under steady load: only requests in flight may fail, traffic moves within 3 s', async () => {
  const a = await startOrigin('a');
  const b = await startOrigin('b');
  const gw = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0" }
pools:
  main:
    origins: [{ url: "${a.url}" }, { url: "${b.url}" }]
    health: { path: /healthz, interval: 200ms, timeout: 200ms, unhealthy: 2, healthy: 2 }
routes:
  - { name: all, pool: main }
`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const results: Array<{ start: number; end: number; ok: boolean; from?: string }> = [];
  let killedAt = Infinity;
  const started = Date.now();
  const worker = async () => {
    while (Date.now() - started < 5000) {
      const start = Date.now();
      const ok = await new Promise<{ ok: boolean; from?: string }>((resolve) => {
        http
          .get(`${gw.url}/x`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ ok: res.statusCode === 200, from: res.headers['x-origin'] as string }));
            res.on('error', () => resolve({ ok: false }));
          })
          .on('error', () => resolve({ ok: false }));
      });
      results.push({ start, end: Date.now(), ...ok });
      await sleep(5);
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, worker));
  await sleep(1000);
  killedAt = Date.now();
  a.server.closeAllConnections();
  a.server.close();
  await load;
  agent.destroy();

  const failures = results.filter((r) => !r.ok);
  const failedAfterKill = failures.filter((r) => r.start > killedAt + 50);
  assert.deepEqual(failedAfterKill, [], 'requests started after the kill all succeed (retried on the survivor)');
  assert.ok(failures.length <= 8, `at most the requests in flight fail; got ${failures.length}`);
  const late = results.filter((r) => r.start > killedAt + 3000);
  assert.ok(late.length > 50, 'load continued');
  assert.ok(late.every((r) => r.from === 'b'));
  const before = results.filter((r) => r.end < killedAt);
  assert.ok(before.some((r) => r.from === 'a') && before.some((r) => r.from === 'b'), 'both served before');

  // After 3 s the dead origin is out of rotation: no more retries are being spent on it.
  const m1 = await request(`${gw.adminUrl}/metrics`);
  const retries = (t: string) => Number(/bulwark_gateway_upstream_retries_total\{[^}]*\} (\d+)/.exec(t)?.[1] ?? 0);
  for (let i = 0; i < 50; i++) await request(`${gw.url}/y`);
  const m2 = await request(`${gw.adminUrl}/metrics`);
  assert.equal(retries(m2.body), retries(m1.body), 'no retries once the origin is out of rotation');
  await gw.close();
  await b.close();
});

test('failover pool takes the traffic while the primary has no healthy origin, and gives it back', async () => {
  const backup = await startOrigin('backup');
  // The primary keeps its port the whole time (a freed port can be taken by another test running beside this one)
  // and starts dead: it drops every connection until it is switched on.
  let alive = false;
  const primary = http.createServer((req, res) => {
    if (!alive) return void req.socket.destroy();
    res.writeHead(200, { 'x-origin': 'primary' }).end('p');
  });
  await new Promise<void>((r) => primary.listen(0, '127.0.0.1', () => r()));
  const primaryPort = (primary.address() as AddressInfo).port;
  const gw = await startGateway(`
listeners:
  - { name: public, address: "127.0.0.1:0" }
pools:
  primary:
    origins: [{ url: "http://127.0.0.1:${primaryPort}" }]
    health: { path: /healthz, interval: 100ms, timeout: 100ms, unhealthy: 1, healthy: 1 }
    failover: secondary
  secondary:
    origins: [{ url: "${backup.url}" }]
routes:
  - { name: all, pool: primary }
`);
  await sleep(400);
  for (let i = 0; i < 5; i++) {
    const r = await request(`${gw.url}/`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-origin'], 'backup');
  }
  alive = true;
  let back = false;
  for (let i = 0; i < 40 && !back; i++) {
    await sleep(100);
    back = (await request(`${gw.url}/`)).headers['x-origin'] === 'primary';
  }
  assert.ok(back, 'traffic returns to the primary once it is healthy');
  await gw.close();
  primary.closeAllConnections();
  primary.close();
  await backup.close();
});
