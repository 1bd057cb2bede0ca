import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ejector } from './ejection.js';
import { Origin } from './origin.js';

function origins(n: number): Origin[] {
  return Array.from(
    { length: n },
    (_, i) =>
      new Origin({
        url: `http://o${i}:80`,
        weight: 1,
        zone: '',
        pool: 'p',
        connections: 1,
        connectTimeoutMs: 100,
        keepAliveTimeoutMs: 100,
      }),
  );
}

const policy = {
  consecutive5xx: 3,
  consecutiveConnectFailures: 2,
  baseMs: 1000,
  maxMs: 8000,
  maxEjectedShare: 0.5,
  mayEjectLast: false,
};

test('consecutive failures eject for a time that doubles and caps; success resets the streak', () => {
  let now = 0;
  const pool = origins(2);
  const [a] = pool as [Origin];
  const e = new Ejector(policy, () => now);
  e.report(a, '5xx', pool);
  e.report(a, '5xx', pool);
  e.report(a, 'ok', pool);
  assert.equal(e.report(a, '5xx', pool), 0, 'the streak was reset by a success');
  e.report(a, '5xx', pool);
  assert.equal(e.report(a, '5xx', pool), 1000);
  assert.equal(a.isAvailable(now), false);
  const durations = [];
  for (let i = 0; i < 5; i++) {
    now = a.ejectedUntil + 1;
    e.report(a, 'connect_failure', pool);
    durations.push(e.report(a, 'connect_failure', pool));
  }
  assert.deepEqual(durations, [2000, 4000, 8000, 8000, 8000]);
  void Promise.all(pool.map((o) => o.close()));
});

test('at most half the pool is ejected, and never the last available origin without a failover pool', () => {
  const now = 0;
  const pool = origins(2);
  const [a, b] = pool as [Origin, Origin];
  const e = new Ejector(policy, () => now);
  e.report(a, 'connect_failure', pool);
  assert.ok(e.report(a, 'connect_failure', pool) > 0);
  e.report(b, 'connect_failure', pool);
  assert.equal(e.report(b, 'connect_failure', pool), 0, 'b is the last one available');
  const single = origins(1);
  const lone = new Ejector(policy, () => now);
  lone.report(single[0]!, 'connect_failure', single);
  assert.equal(lone.report(single[0]!, 'connect_failure', single), 0);
  const withFailover = new Ejector({ ...policy, mayEjectLast: true }, () => now);
  withFailover.report(single[0]!, 'connect_failure', single);
  assert.equal(withFailover.report(single[0]!, 'connect_failure', single), 1000);
  void Promise.all([...pool, ...single].map((o) => o.close()));
});
