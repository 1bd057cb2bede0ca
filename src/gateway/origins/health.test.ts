import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthChecker } from './health.js';
import { Origin } from './origin.js';

test('health checks mark an origin unhealthy after failures and healthy after passes', async () => {
  let status = 200;
  const server = http.createServer((_req, res) => res.writeHead(status).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const origin = new Origin({
    url,
    weight: 1,
    zone: '',
    pool: 'p',
    connections: 2,
    connectTimeoutMs: 200,
    keepAliveTimeoutMs: 1000,
  });
  const changes: boolean[] = [];
  const checker = new HealthChecker(
    [origin],
    {
      path: '/healthz',
      intervalMs: 30,
      timeoutMs: 200,
      healthyAfter: 2,
      unhealthyAfter: 2,
      statusLow: 200,
      statusHigh: 399,
    },
    (_o, healthy) => changes.push(healthy),
  );
  const waitFor = async (want: boolean) => {
    for (let i = 0; i < 100 && origin.healthy !== want; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(origin.healthy, want);
  };
  checker.start();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(origin.healthy, true);
  status = 503;
  await waitFor(false);
  status = 204;
  await waitFor(true);
  server.closeAllConnections();
  server.close();
  await waitFor(false);
  checker.stop();
  assert.deepEqual(changes, [false, true, false]);
  await origin.close();
});
