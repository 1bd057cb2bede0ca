import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeastRequest, SmoothRoundRobin } from './balancer.js';
import { Origin } from './origin.js';

function origin(name: string, weight = 1): Origin {
  return new Origin({
    url: `http://${name}:80`,
    weight,
    zone: '',
    pool: 'p',
    connections: 1,
    connectTimeoutMs: 100,
    keepAliveTimeoutMs: 100,
  });
}

test('smooth weighted round robin spreads exactly by weight and interleaves', () => {
  const [a, b] = [origin('a', 3), origin('b', 1)];
  const rr = new SmoothRoundRobin();
  const picks = Array.from({ length: 400 }, () => rr.pick([a, b], 0)!);
  assert.equal(picks.filter((o) => o === a).length, 300);
  assert.deepEqual(
    picks.slice(0, 4).map((o) => o.url),
    ['http://a:80', 'http://a:80', 'http://b:80', 'http://a:80'],
  );
  void Promise.all([a.close(), b.close()]);
});

test('round robin skips unavailable and excluded origins', () => {
  const [a, b, c] = [origin('a'), origin('b'), origin('c')];
  b.healthy = false;
  c.ejectedUntil = 10_000;
  const rr = new SmoothRoundRobin();
  for (let i = 0; i < 5; i++) assert.equal(rr.pick([a, b, c], 5_000), a);
  assert.equal(rr.pick([a, b, c], 5_000, a), undefined);
  assert.equal(rr.pick([a, b, c], 20_000, a), c, 'the ejection ended');
  void Promise.all([a, b, c].map((o) => o.close()));
});

test('least request (P2C) prefers the less loaded per unit of weight', () => {
  const [a, b] = [origin('a'), origin('b')];
  a.inflight = 10;
  const lr = new LeastRequest(() => 0.3);
  for (let i = 0; i < 20; i++) assert.equal(lr.pick([a, b], 0), b);
  const heavy = origin('h', 20);
  heavy.inflight = 10; // 0.5 per unit of weight, less than b's 1 once b has one in flight
  b.inflight = 1;
  assert.equal(new LeastRequest(() => 0.99).pick([b, heavy], 0), heavy);
  assert.equal(lr.pick([a], 0), a);
  a.healthy = false;
  assert.equal(lr.pick([a], 0), undefined);
  void Promise.all([a, b, heavy].map((o) => o.close()));
});
