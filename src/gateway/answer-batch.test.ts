import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerAfterPoll } from './answer-batch.js';

test('refusals of one loop turn are answered together, in order, after the turn, and a throw spoils none', async () => {
  const ran: string[] = [];
  answerAfterPoll(() => ran.push('a'));
  answerAfterPoll(() => {
    throw new Error('this response cannot be written');
  });
  answerAfterPoll(() => {
    ran.push('b');
    // Queued while the batch runs (a pipelined request let through): answered on a later turn, not lost.
    answerAfterPoll(() => ran.push('late'));
  });
  assert.deepEqual(ran, [], 'nothing is answered synchronously');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, ['a', 'b']);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, ['a', 'b', 'late']);
});
