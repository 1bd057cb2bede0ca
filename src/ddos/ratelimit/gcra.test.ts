import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gcra } from './gcra.js';

test('a full bucket admits the burst, then the sustained rate', () => {
  let now = 1_000_000;
  const g = new Gcra(10, 5, 100, () => now);
  const first = Array.from({ length: 7 }, () => g.take('k').allowed);
  assert.deepEqual(first, [true, true, true, true, true, false, false]);
  const refused = g.take('k');
  assert.equal(refused.remaining, 0);
  assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 100, String(refused.retryAfterMs));
  now += 100; // one interval at 10/s
  assert.equal(g.take('k').allowed, true);
  assert.equal(g.take('k').allowed, false);
  // Over 10 s at exactly the rate, every request passes.
  let passed = 0;
  for (let i = 0; i < 100; i++) {
    now += 100;
    if (g.take('k').allowed) passed++;
  }
  assert.equal(passed, 100);
});

test('remaining counts down; keys are independent', () => {
  const now = 5_000;
  const g = new Gcra(1, 3, 100, () => now);
  assert.deepEqual([g.take('a').remaining, g.take('a').remaining, g.take('a').remaining], [2, 1, 0]);
  assert.equal(g.take('a').allowed, false);
  assert.equal(g.take('b').allowed, true);
});

test('memory is bounded: expired keys are swept and the table is capped', () => {
  let now = 0;
  const g = new Gcra(100, 1, 1000, () => now);
  for (let i = 0; i < 5000; i++) g.take(`k${i}`);
  assert.ok(g.size <= 1000, `size ${g.size}`);
  now += 60_000;
  g.sweep();
  assert.equal(g.size, 0);
});
