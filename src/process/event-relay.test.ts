// The worker's side of the node-wide event order: batches, never a message per event, a bound on what waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UnnumberedEvent } from '../observability/index.js';
import { EventRelay } from './event-relay.js';

const event = (n: number) => ({ request_id: `r${n}` }) as unknown as UnnumberedEvent;
const numbers = (batch: UnnumberedEvent[]) => batch.map((e) => Number(e.request_id.slice(1)));

test('events go in batches of maxBatch at once, the rest after the interval, in order', async () => {
  const batches: number[][] = [];
  const relay = new EventRelay({
    send: (batch, _dropped, done) => {
      batches.push(numbers(batch));
      done();
    },
    maxPending: () => 1000,
    maxBatch: 4,
    intervalMs: 20,
  });
  for (let i = 1; i <= 10; i++) relay.push(event(i));
  assert.deepEqual(batches, [
    [1, 2, 3, 4],
    [5, 6, 7, 8],
  ]);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(batches.at(-1), [9, 10]);
  assert.equal(relay.waiting, 0);
});

test('while writes are slow, at most maxInFlight batches go; beyond the capacity the oldest are dropped and counted', async () => {
  const sent: Array<{ seqs: number[]; dropped: number; done: () => void }> = [];
  const relay = new EventRelay({
    send: (batch, dropped, done) => void sent.push({ seqs: numbers(batch), dropped, done }),
    maxPending: () => 5,
    maxBatch: 2,
    intervalMs: 10,
    maxInFlight: 1,
  });
  for (let i = 1; i <= 12; i++) relay.push(event(i));
  // One batch in flight; of the ten behind it only the newest five wait.
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0]!.seqs, [1, 2]);
  assert.equal(relay.waiting, 6);
  sent[0]!.done();
  sent[0]!.done(); // a second call changes nothing
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1]!.seqs, [8, 9]);
  assert.equal(sent[1]!.dropped, 5);
  for (const i of [1, 2]) {
    sent[i]!.done();
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.deepEqual(
    sent.map((s) => s.seqs),
    [[1, 2], [8, 9], [10, 11], [12]],
  );
  assert.equal(
    sent.slice(2).reduce((n, s) => n + s.dropped, 0),
    0,
  );
  sent[3]!.done();
  assert.equal(relay.waiting, 0);
});
