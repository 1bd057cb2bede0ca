import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from './retry-budget.js';

test('retries stay within 20% of requests over the window, plus a small floor', () => {
  let now = 0;
  const budget = new RetryBudget(0.2, 3, () => now);
  let granted = 0;
  // 1,000 requests a second for 10 seconds, each wanting a retry.
  for (let s = 0; s < 10; s++) {
    for (let i = 0; i < 1000; i++) {
      now = s * 1000 + i;
      budget.noteRequest();
      if (budget.canRetry()) {
        budget.noteRetry();
        granted++;
      }
    }
  }
  assert.ok(granted <= 0.2 * 10_000 + 30, `granted ${granted}`);
  assert.ok(granted >= 0.2 * 10_000, `granted ${granted}`);
});

test('a quiet pool can still retry up to the floor; old buckets expire', () => {
  let now = 0;
  const budget = new RetryBudget(0.2, 3, () => now);
  let granted = 0;
  for (let i = 0; i < 50; i++) {
    if (budget.canRetry()) {
      budget.noteRetry();
      granted++;
    }
  }
  assert.equal(granted, 30, 'three a second over the ten-second window');
  now = 11_000;
  assert.equal(budget.canRetry(), true, 'the window moved on');
});
