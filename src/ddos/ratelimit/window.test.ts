import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuota, SlidingWindow } from './window.js';

const MIN = 60_000;

/** A window whose clock the test moves; starts at a minute boundary. */
function windowAt(limit: number, windowMs: number, maxKeys?: number) {
  const clock = { now: 1_000 * windowMs };
  const w = new SlidingWindow(limit, windowMs, maxKeys, () => clock.now);
  return { w, clock };
}

const admitted = (w: SlidingWindow, key: string, n: number) => {
  let ok = 0;
  for (let i = 0; i < n; i++) if (w.take(key).allowed) ok++;
  return ok;
};

test('parseQuota reads minutes, hours and days', () => {
  assert.deepEqual(parseQuota('1000/m'), { limit: 1000, windowMs: MIN });
  assert.deepEqual(parseQuota('5/h'), { limit: 5, windowMs: 3_600_000 });
  assert.deepEqual(parseQuota('10000/d'), { limit: 10000, windowMs: 86_400_000 });
});

test('inside one window the count is exact and may be spent at once', () => {
  const { w, clock } = windowAt(1000, MIN);
  assert.equal(admitted(w, 'a', 3000), 1000);
  const refused = w.take('a');
  assert.equal(refused.allowed, false);
  // All 1000 in the current window: nothing frees up before the window ends, then the previous count decays.
  assert.ok(refused.retryAfterMs > MIN - 1 && refused.retryAfterMs <= MIN + 2, String(refused.retryAfterMs));
  assert.equal(admitted(w, 'b', 5), 5, 'keys are independent');
  clock.now += 30_000;
  assert.equal(w.take('a').allowed, false, 'still the same fixed window');
});

test('across a boundary the previous window is weighted by its overlap', () => {
  const { w, clock } = windowAt(100, MIN);
  assert.equal(admitted(w, 'k', 100), 100);
  clock.now += MIN + 15_000; // a quarter into the next window: 100 * 0.75 = 75 still count
  assert.equal(admitted(w, 'k', 100), 25);
  const d = w.take('k');
  assert.equal(d.allowed, false);
  // 100 * (1 - f) + 25 < 100 needs f > 0.25: the very next millisecond.
  assert.ok(d.retryAfterMs > 0 && d.retryAfterMs <= 2, `retry ${d.retryAfterMs}`);
  clock.now += 15_000; // half-way: 100*0.5 + 25 = 75
  assert.equal(admitted(w, 'k', 100), 25);
  clock.now += 2 * MIN; // two windows on: history forgotten
  assert.equal(admitted(w, 'k', 200), 100);
});

test('Retry-After is when the estimate falls below the limit again', () => {
  const { w, clock } = windowAt(10, MIN);
  assert.equal(admitted(w, 'k', 10), 10);
  clock.now += MIN; // start of the next window: previous 10 fully weighted
  const d = w.take('k');
  assert.equal(d.allowed, false);
  // 10 * (1 - f) < 10 as soon as f > 0: about a millisecond.
  assert.ok(d.retryAfterMs <= 2);
  clock.now += 9_000; // f = 0.15: estimate 8.5, one more fits, then 8.5 + 1 < 10 and a second one
  assert.equal(admitted(w, 'k', 5), 2);
  const again = w.take('k'); // 10 * (1 - f) + 2 < 10 needs f > 0.2: 12 s into the window, 3 s from now
  assert.equal(again.allowed, false);
  assert.ok(Math.abs(again.retryAfterMs - 3_000) <= 2, String(again.retryAfterMs));
  clock.now += again.retryAfterMs;
  assert.equal(w.take('k').allowed, true);
});

test('a refund gives a counted request back', () => {
  const { w } = windowAt(2, MIN);
  assert.equal(w.take('k').allowed, true);
  w.refund('k');
  assert.equal(admitted(w, 'k', 3), 2);
});

test('key memory is bounded: idle keys are swept, the table is capped', () => {
  const { w, clock } = windowAt(5, MIN, 100);
  for (let i = 0; i < 1000; i++) w.take(`k${i}`);
  assert.ok(w.size <= 100, `size ${w.size}`);
  clock.now += 2 * MIN;
  w.sweep();
  assert.equal(w.size, 0);
});
