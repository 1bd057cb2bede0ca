// Which HTTP/2 hardening the running Node can take: rapid-reset thresholds from 22.10, the CONTINUATION-flood fix
// from 20.12.1; what a Node without them is told at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { continuationFloodPatched, h2ServerOptions, supportsStreamResetOptions } from './h2-options.js';

test('stream-reset options from Node 22.10 and 23 on', () => {
  for (const v of ['20.20.2', '22.9.0', '21.7.3']) assert.equal(supportsStreamResetOptions(v), false, v);
  for (const v of ['22.10.0', '22.12.1', '23.0.0', '24.11.1']) assert.equal(supportsStreamResetOptions(v), true, v);
});

test('the CONTINUATION-flood fix: 18.20.1, 20.12.1, 21.7.2, all of 22 on', () => {
  for (const v of ['20.12.0', '20.11.1', '18.20.0', '21.7.1', '16.20.2'])
    assert.equal(continuationFloodPatched(v), false, v);
  for (const v of ['20.12.1', '20.20.2', '18.20.1', '21.7.2', '22.0.0', 'v24.1.0'])
    assert.equal(continuationFloodPatched(v), true, v);
});

test('options carry the configured limits; an old Node is warned about what it cannot do', () => {
  const limits = { maxConcurrentStreams: 64, maxHeaderListSize: 24_576, streamResetBurst: 200, streamResetRate: 10 };
  const new24 = h2ServerOptions(limits, '24.11.1');
  assert.equal(new24.options.settings?.maxConcurrentStreams, 64);
  assert.equal(new24.options.settings?.maxHeaderListSize, 24_576);
  assert.equal((new24.options as { streamResetBurst?: number }).streamResetBurst, 200);
  assert.equal((new24.options as { streamResetRate?: number }).streamResetRate, 10);
  assert.deepEqual(new24.warnings, []);

  const old20 = h2ServerOptions(limits, '20.11.0');
  assert.equal((old20.options as { streamResetBurst?: number }).streamResetBurst, undefined);
  assert.equal(old20.warnings.length, 2, old20.warnings.join('; '));
  assert.deepEqual(h2ServerOptions({ maxConcurrentStreams: 128, maxHeaderListSize: 1 }, '20.20.2').warnings, []);
});
