/**
 * Acceptance (issue #6, cluster-wide limits): two gateway processes (`bulwark start`, workers: 0) share a real
 * redis-server. A shared limit of N admits at most N plus the documented bound (nodes x lease); with redis-server
 * killed both keep serving on their node limits (metric and events show the fallback); when it returns on the same
 * port they share again. A ban made on one node is enforced on the other within 1 s, and a node restarted
 * afterwards loads it from Redis.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, scratchDir, startOrigin, type TestOrigin } from '../testing/harness.js';
import { startRedis, type TestRedis } from '../testing/redis.js';
import { freePort, startCli, waitFor, type Child } from '../testing/spawn.js';
import { leaseSize } from './index.js';

const N = 40;
const LEASE = 10;
const NODES = 2;
const BOUND = NODES * leaseSize(N, LEASE);
const TOKEN = 'cluster-test-token-0123456789';

interface Node {
  readonly child: Child;
  readonly url: string;
  readonly admin: string;
}

let redis: TestRedis;
let origin: TestOrigin;
const nodes: Node[] = [];
const restarted: Node[] = [];

async function startNode(name: string): Promise<Node> {
  const dir = scratchDir();
  const [port, adminPort] = [await freePort(), await freePort()];
  const file = join(dir, 'bulwark.yaml');
  writeFileSync(
    file,
    `workers: 0
listeners: [{ name: public, address: "127.0.0.1:${port}" }]
admin: { address: "127.0.0.1:${adminPort}", token: "${TOKEN}" }
log: { level: warn, access: { enabled: false } }
pools: { main: { origins: [{ url: "${origin.url}" }] } }
cluster: { redis: { url: "${redis.url}", lease: ${LEASE}, node_id: "${name}" } }
routes:
  - name: open
    match: { path: { prefix: /open } }
    pool: main
  - name: api
    pool: main
    stages:
      ratelimit:
        rules: [{ name: shared, key: [route], rate: 1/h, burst: ${N}, scope: cluster }]
`,
  );
  const child = startCli(file);
  const node = { child, url: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${adminPort}` };
  await waitFor(async () => (await metric(node, 'bulwark_cluster_redis_up')) === 1, 20_000, `${name} sharing`);
  return node;
}

/** A sample of the node's /metrics (summed over label sets matching `labels`), or NaN when absent. */
async function metric(node: Node, name: string, labels = ''): Promise<number> {
  const body = (await request(`${node.admin}/metrics`)).body;
  const lines = body.split('\n').filter((l) => l.startsWith(name) && l.includes(labels) && !l.startsWith('#'));
  const samples = lines.filter((l) => l.slice(name.length).match(/^(\{[^}]*\})? /));
  return samples.length === 0 ? NaN : samples.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Sends `count` requests alternately to the nodes; returns 200s per node. Every answer must be 200 or 429. */
async function alternate(count: number): Promise<number[]> {
  const admitted = nodes.map(() => 0);
  for (let i = 0; i < count; i++) {
    const which = i % nodes.length;
    const r = await request(`${nodes[which]!.url}/x`, { timeoutMs: 5000 });
    assert.ok(r.status === 200 || r.status === 429, `node ${which} answered ${r.status}`);
    if (r.status === 200) admitted[which]!++;
  }
  return admitted;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

before(async () => {
  redis = await startRedis();
  origin = await startOrigin('o');
  nodes.push(...(await Promise.all([startNode('gw-a'), startNode('gw-b')])));
});

after(async () => {
  for (const n of nodes) n.child.kill('SIGKILL');
  for (const n of restarted) n.child.kill('SIGKILL');
  await Promise.all(restarted.map((n) => n.child.exited));
  await Promise.all(nodes.map((n) => n.child.exited));
  await origin.close();
  await redis.close();
});

test('two gateways share a limit of N, fall back to their node limits without Redis, and share again', async (t) => {
  // 1. Shared: 2.5 N requests across both nodes admit at most N + nodes x lease, far fewer than N per node.
  const shared = await alternate(Math.round(2.5 * N));
  t.diagnostic(`shared: admitted ${sum(shared)} (per node ${shared.join(', ')}), N ${N}, bound ${BOUND}`);
  assert.ok(sum(shared) <= N + BOUND, `admitted ${sum(shared)} <= N + bound ${N + BOUND}`);
  assert.ok(sum(shared) >= N - BOUND, `admitted ${sum(shared)} >= N - bound (leases are spent, not stranded)`);
  assert.ok(
    shared.every((n) => n > 0 && n < N),
    'both nodes admit, and neither admits a whole N',
  );

  // 2. Redis killed: both still answer, limited by their node limiter (charged with what they admitted).
  await redis.stop();
  for (const n of nodes)
    await waitFor(async () => (await metric(n, 'bulwark_cluster_redis_up')) === 0, 10_000, 'fallback seen');
  const local = await alternate(2 * N);
  t.diagnostic(`redis down: admitted per node ${local.join(', ')} (node limit ${N} each, minus its own use)`);
  for (const [i, n] of nodes.entries()) {
    assert.ok(local[i]! + shared[i]! <= N, `node ${i} stays within its node limit: ${shared[i]} + ${local[i]}`);
    assert.ok((await metric(n, 'bulwark_cluster_ratelimit_fallback_total', 'rule="shared"')) >= N);
    const events = JSON.parse(
      (
        await request(`${n.admin}/v1/events?type=cluster&action=fallback`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).body,
    ) as {
      events: unknown[];
    };
    assert.ok(events.events.length >= 1, 'a cluster fallback event');
  }
  assert.ok(
    local.some((n) => n > 0),
    'nodes keep admitting on their own limit',
  );

  // 3. Redis back on the same port (empty): both rejoin and share a fresh budget of N.
  await redis.start();
  for (const n of nodes)
    await waitFor(async () => (await metric(n, 'bulwark_cluster_redis_up')) === 1, 15_000, 'rejoined');
  const granted = await Promise.all(nodes.map((n) => metric(n, 'bulwark_cluster_ratelimit_leases_total', 'granted')));
  const again = await alternate(Math.round(2.5 * N));
  t.diagnostic(`after restart: admitted ${sum(again)} (per node ${again.join(', ')})`);
  assert.ok(sum(again) <= N + BOUND && sum(again) >= N - BOUND, `admitted ${sum(again)} ~ N within the bound`);
  for (const [i, n] of nodes.entries())
    assert.ok(
      (await metric(n, 'bulwark_cluster_ratelimit_leases_total', 'granted')) > granted[i]!,
      `node ${i} leases from Redis again`,
    );
});

test('a ban made on one gateway holds on the other within 1 s, and on a gateway started after it', async (t) => {
  const [a, b] = nodes as [Node, Node];
  const banned = '127.0.0.42';
  const open = (n: Node, localAddress: string) => request(`${n.url}/open`, { localAddress, timeoutMs: 5000 });
  assert.equal((await open(b, banned)).status, 200, 'not banned yet');

  const made = await request(`${a.admin}/v1/bans`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target: banned, duration: '10m', reason: 'cluster test' }),
  });
  assert.equal(made.status, 201, made.body);
  const since = performance.now();
  // Poll the other node until it refuses; the acceptance bound is 1 s (polling adds at most one request's time).
  let status = 0;
  while (performance.now() - since < 3000) {
    status = (await open(b, banned)).status;
    if (status === 403) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const elapsed = performance.now() - since;
  t.diagnostic(`ban from gw-a enforced on gw-b after ${elapsed.toFixed(0)} ms`);
  assert.equal(status, 403, 'gw-b refuses the banned client');
  assert.ok(elapsed < 1000, `within 1 s (took ${elapsed.toFixed(0)} ms)`);
  assert.equal((await open(b, '127.0.0.43')).status, 200, 'another client is still served');

  // A node started now (a restart of gw-b's role) loads the ban from Redis.
  const late = await startNode('gw-c');
  restarted.push(late);
  await waitFor(async () => (await open(late, banned)).status === 403, 5000, 'gw-c enforces the stored ban');
  assert.equal((await open(late, '127.0.0.43')).status, 200);
});
