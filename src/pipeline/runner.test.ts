import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTINUE, end, type Exchange, type Stage } from './stage.js';
import { Pipeline } from './runner.js';

const x = {} as Exchange;

test('request hooks run in order, response hooks and onLog in reverse; absent hooks cost nothing', async () => {
  const seen: string[] = [];
  const stage = (name: string, async = false): Stage => ({
    name,
    onRequestHeaders: () => (seen.push(`req:${name}`), async ? Promise.resolve(CONTINUE) : CONTINUE),
    onResponseHeaders: () => (seen.push(`res:${name}`), CONTINUE),
    onLog: () => void seen.push(`log:${name}`),
  });
  const p = new Pipeline([stage('a'), stage('b', true), stage('c'), { name: 'empty' }]);
  assert.equal(p.hasRequestBodyHooks, false);
  const v = p.onRequestHeaders(x);
  assert.ok(v instanceof Promise, 'a promise only once a stage returned one');
  assert.equal((await v).kind, 'continue');
  assert.equal(p.onResponseHeaders(x) instanceof Promise, false);
  p.onLog(x, { status: 200, durationMs: 1, bytesIn: 0, bytesOut: 0, attempts: 1 });
  assert.deepEqual(seen, ['req:a', 'req:b', 'req:c', 'res:c', 'res:b', 'res:a', 'log:c', 'log:b', 'log:a']);
});

test('an end verdict stops the chain; a throwing stage fails closed with 500', async () => {
  const after: string[] = [];
  const p = new Pipeline([
    { name: 'stop', onRequestHeaders: () => end(403, 'stop:no') },
    { name: 'later', onRequestHeaders: () => (after.push('later'), CONTINUE) },
  ]);
  const v = p.onRequestHeaders(x);
  assert.deepEqual(v, { kind: 'end', status: 403, reason: 'stop:no', detail: undefined, headers: undefined });
  assert.deepEqual(after, []);
  const failures: string[] = [];
  const boom = new Pipeline(
    [
      {
        name: 'boom',
        onRequestHeaders: () => {
          throw new Error('x');
        },
      },
      { name: 'async-boom', onRequestBody: () => Promise.reject(new Error('y')) },
    ],
    (f) => failures.push(f.stage),
  );
  const v1 = boom.onRequestHeaders(x);
  assert.equal(v1 instanceof Promise ? 'promise' : v1.kind === 'end' && v1.status, 500);
  const v2 = await boom.onRequestBody(x, new Uint8Array(), true);
  assert.equal(v2.kind === 'end' && v2.reason, 'async-boom:failed');
  assert.deepEqual(failures, ['boom', 'async-boom']);
});
