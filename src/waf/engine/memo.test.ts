import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMemoGeneration, ValueMemo } from './memo.js';

test('a value is remembered from its second sighting on; values seen once never fill the memo', () => {
  const memo = new ValueMemo<number>(4, 16);
  let computed = 0;
  const length = (v: string) => (computed++, v.length);
  // Each sighting in a transaction of its own.
  startMemoGeneration();
  assert.equal(memo.get('abc', length), 3);
  startMemoGeneration();
  assert.equal(memo.get('abc', length), 3);
  assert.equal(computed, 2, 'seen once: computed again');
  startMemoGeneration();
  assert.equal(memo.get('abc', length), 3);
  assert.equal(computed, 2, 'seen twice: answered from the memo');
  // A stream of distinct values (ids, bodies) passes through without evicting what repeats.
  for (let i = 0; i < 100; i++) memo.get(`id-${i}`, length);
  computed = 0;
  assert.equal(memo.get('abc', length), 3);
  assert.equal(computed, 0);
  // Keys over the length cap are never kept.
  const long = 'x'.repeat(17);
  memo.get(long, length);
  memo.get(long, length);
  memo.get(long, length);
  assert.equal(computed, 3);
});

test('values are admitted from their second sighting, whatever their hash (the doorkeeper is lossy, not wrong)', () => {
  const memo = new ValueMemo<number>(4096);
  let computed = 0;
  const values = Array.from({ length: 1000 }, (_, i) => `value-${i}-${'x'.repeat(i % 70)}`);
  for (let round = 0; round < 3; round++) {
    startMemoGeneration();
    for (const v of values) memo.get(v, (x) => (computed++, x.length));
  }
  // Once to be seen, once to be kept; a value whose doorkeeper slot another took in between needs one more.
  assert.ok(computed >= 2 * values.length && computed <= 2.5 * values.length, `computed ${computed} times`);
  computed = 0;
  for (const v of values) memo.get(v, (x) => (computed++, x.length));
  assert.ok(computed <= values.length * 0.05, `computed ${computed} of ${values.length} again`);
});

test('a value repeated within one transaction is not a second sighting (REQUEST_URI and REQUEST_URI_RAW)', () => {
  const memo = new ValueMemo<number>(64);
  let computed = 0;
  const length = (v: string) => (computed++, v.length);
  startMemoGeneration();
  for (let i = 0; i < 5; i++) memo.get('/catalog/item?id=17', length);
  startMemoGeneration();
  memo.get('/catalog/item?id=18', length);
  memo.get('/catalog/item?id=18', length);
  assert.equal(computed, 7, 'never kept while only one transaction has seen it');
  startMemoGeneration();
  memo.get('/catalog/item?id=17', length);
  computed = 0;
  startMemoGeneration();
  assert.equal(memo.get('/catalog/item?id=17', length), 19);
  assert.equal(computed, 0, 'kept once a second transaction saw it');
});
