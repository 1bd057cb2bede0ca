/** The cluster limiter against a real redis-server: two "nodes" (two connections) in one process. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Gcra, type GcraDecision } from '../ddos/index.js';
import { loadConfigText } from '../bulwark-config.js';
import { configureProcessLogger, queryEvents } from '../observability/index.js';
import { startRedis, type TestRedis } from '../testing/redis.js';
import { freePort, waitFor } from '../testing/spawn.js';
import type { RuleLimiter } from '../ddos/index.js';
import { clusterMetrics, sharedRateLimits, leaseSize } from './index.js';

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
    sharedRateLimits({ url: redis.url, node_id: node, lease: 10, command_timeout: '1s' }).rateLimiter({
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

test('two nodes share one budget, Redis asked once per lease, refusals answered locally', async (t) => {
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
  t.diagnostic(`120 requests, budget 40, lease ${B}: admitted ${admitted}, leases granted ${granted}, empty ${empty}`);
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

test('nothing listening on the Redis port: every request is decided by the node limit, nothing throws', async () => {
  const port = await freePort();
  const services = sharedRateLimits({ url: `redis://127.0.0.1:${port}`, node_id: 'lonely' });
  const limiter = services.rateLimiter({
    route: 'r',
    rule: 'lonely',
    perSecond: 1 / 3600,
    burst: 3,
    local: new Gcra(1 / 3600, 3),
  });
  await waitFor(
    () =>
      queryEvents({ type: 'cluster', action: 'fallback' }).events.some((e) =>
        String(e['reason']).includes('ECONNREFUSED'),
      ),
    10_000,
    'a fallback event for the refused connection',
  );
  const decisions = Array.from({ length: 5 }, () => limiter.take('k')) as GcraDecision[];
  assert.deepEqual(
    decisions.map((d) => d.allowed),
    [true, true, true, false, false],
  );
  limiter.close?.(); // its connection leaves the process gauge
});

test('a stalled Redis (SIGSTOP): the lease call times out, the node limit decides, sharing resumes after SIGCONT', async () => {
  const services = sharedRateLimits({ url: redis.url, node_id: 'stall', command_timeout: '300ms' });
  const limiter = services.rateLimiter({
    route: 'r',
    rule: 'stall',
    perSecond: 1 / 3600,
    burst: 50,
    local: new Gcra(1 / 3600, 50),
  });
  limiters.push(limiter);
  await waitUp();
  assert.ok((await limiter.take('k')).allowed);
  redis.signal('SIGSTOP');
  try {
    const started = Date.now();
    // The lease for a new key cannot complete: after the command timeout the node limit decides.
    const d = await limiter.take('other');
    assert.ok(d.allowed, 'decided by the node limit, not refused for want of Redis');
    assert.ok(Date.now() - started < 5000, 'within the command timeout (with margin)');
    assert.equal(await leases('stall', 'error'), 1);
    const next = limiter.take('third');
    assert.ok(!(next instanceof Promise), 'while suspended, decided at once');
  } finally {
    redis.signal('SIGCONT');
  }
  // A new key needs a lease: once Redis answers again it is granted from the shared budget.
  let n = 0;
  await waitFor(
    async () => {
      await limiter.take(`after-${n++}`);
      return (await leases('stall', 'granted')) >= 2;
    },
    10_000,
    'shared again',
  );
});

test('scope "cluster" without cluster.redis is refused at load, with its position', () => {
  const yaml = `listeners: [{ name: p, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "http://127.0.0.1:1" }] } }
routes:
  - name: api
    pool: main
    stages: { ratelimit: { rules: [{ name: shared, key: [route], rate: 10/s, scope: cluster }] } }
`;
  const r = loadConfigText(yaml, 'bulwark.yaml', '.');
  assert.equal(r.ok, false);
  const problem = !r.ok ? r.problems.find((p) => p.path.endsWith('scope')) : undefined;
  assert.ok(problem, 'a problem at the scope');
  assert.equal(problem.line, 6);
  assert.match(problem.message, /cluster\.redis/);
  const ok = loadConfigText(`${yaml}cluster: { redis: { url: "redis://127.0.0.1:6379" } }\n`, 'bulwark.yaml', '.');
  assert.equal(ok.ok, true);
});
