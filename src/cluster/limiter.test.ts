/** The cluster limiter against a real redis-server: two "nodes" (two connections) in one process. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Gcra, type GcraDecision } from '../ddos/index.js';
import { configureProcessLogger, queryEvents } from '../observability/index.js';
import { startRedis, type TestRedis } from '../testing/redis.js';
import { waitFor } from '../testing/spawn.js';
import { clusterMetrics, clusterServices, leaseSize, type RuleLimiter } from './index.js';

let redis: TestRedis;
const limiters: RuleLimiter[] = [];

before(async () => {
  configureProcessLogger({ level: 'silent' });
  redis = await startRedis();
});

after(async () => {
  for (const l of limiters) l.close?.();
  await redis.close();
});

/** One rule on two nodes; node_id differs, so each node has its own connection as separate processes would. */
function twoNodes(rule: string, burst: number, perSecond = 1 / 3600): [RuleLimiter, RuleLimiter] {
  const make = (node: string) =>
    clusterServices({ url: redis.url, node_id: node, lease: 10, command_timeout: '1s' }).rateLimiter({
      route: 'r',
      rule,
      perSecond,
      burst,
      local: new Gcra(perSecond, burst),
    });
  const pair: [RuleLimiter, RuleLimiter] = [make('a'), make('b')];
  limiters.push(...pair);
  return pair;
}

async function counterValue(
  metric: { get(): Promise<{ values: { value: number; labels: object }[] }> },
  labels: object,
) {
  const { values } = await metric.get();
  const want = Object.entries(labels);
  return values
    .filter((v) => want.every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
    .reduce((n, v) => n + v.value, 0);
}

const leases = (rule: string, result: string) => counterValue(clusterMetrics.leases, { rule, result });
const fallbacks = (rule: string) => counterValue(clusterMetrics.fallback, { rule });

async function waitUp(): Promise<void> {
  await waitFor(async () => (await clusterMetrics.redisUp.get()).values[0]?.value === 1, 10_000, 'redis up');
}

test('two nodes share one budget, Redis asked once per lease, refusals answered locally', async () => {
  const [a, b] = twoNodes('shared', 40);
  await waitUp();
  const B = leaseSize(40, 10);
  assert.equal(B, 4);
  let admitted = 0;
  for (let i = 0; i < 120; i++) {
    const d = await (i % 2 === 0 ? a : b).take('k');
    if (d.allowed) admitted++;
    else assert.ok(d.retryAfterMs > 0, 'a refusal says when to retry');
  }
  assert.ok(admitted <= 40 + 2 * B, `admitted ${admitted} <= 40 + nodes x lease`);
  assert.ok(admitted >= 40 - 2 * B, `admitted ${admitted} >= 40 - nodes x lease (leases are shared, not lost)`);
  const granted = await leases('shared', 'granted');
  const empty = await leases('shared', 'empty');
  assert.ok(granted <= Math.ceil(40 / B) + 2, `granted leases ${granted} ~ budget / lease`);
  // 80 refused requests cost at most one empty reply per node while the bucket stays empty.
  assert.ok(empty <= 2, `empty leases ${empty}`);
});

test('concurrent requests on a new key wait for one lease call and are served in order', async () => {
  const [a] = twoNodes('burst', 30);
  await waitUp();
  const decisions = await Promise.all(Array.from({ length: 50 }, () => a.take('same')));
  assert.equal(decisions.filter((d) => d.allowed).length, 30);
  assert.ok(
    decisions.slice(0, 30).every((d) => d.allowed),
    'first come, first served',
  );
});

test('Redis down: the node limit decides (never open), a cluster event is recorded; back: shared again', async () => {
  const [a, b] = twoNodes('outage', 20);
  await waitUp();
  for (let i = 0; i < 6; i++) assert.ok((await a.take('k')).allowed);
  const eventsBefore = queryEvents({ type: 'cluster', action: 'fallback' }).events.length;

  await redis.stop();
  // Both connections (nodes a and b) see it go: one fallback event each.
  const down = () => queryEvents({ type: 'cluster', action: 'fallback' }).events.length >= eventsBefore + 2;
  await waitFor(down, 10_000, 'both nodes on their local limit');
  assert.equal((await clusterMetrics.redisUp.get()).values[0]?.value, 0);
  const local: GcraDecision[] = [];
  for (let i = 0; i < 30; i++) {
    const d = a.take('k');
    assert.ok(!(d instanceof Promise), 'decided at once, without waiting for Redis');
    local.push(d);
  }
  const allowedLocally = local.filter((d) => d.allowed).length;
  // Node a spent 6 of its own limit of 20 while shared (its node limiter was charged): 14 are left.
  assert.ok(allowedLocally <= 20 - 6 + 2, `allowed locally ${allowedLocally}`);
  assert.ok(
    local.some((d) => !d.allowed),
    'the node limit refuses',
  );
  assert.ok((await fallbacks('outage')) >= 30);

  await redis.start();
  await waitUp();
  assert.ok(queryEvents({ type: 'cluster', action: 'rejoined' }).events.length > 0);
  // The restarted Redis is empty: a new shared budget of 20, shared again by both nodes.
  const grantedBefore = await leases('outage', 'granted');
  let admitted = 0;
  for (let i = 0; i < 60; i++) if ((await (i % 2 === 0 ? a : b).take('fresh')).allowed) admitted++;
  assert.ok(admitted <= 20 + 2 * leaseSize(20, 10) && admitted >= 20 - 2 * leaseSize(20, 10), `admitted ${admitted}`);
  assert.ok((await leases('outage', 'granted')) > grantedBefore, 'leases come from Redis again');
});
