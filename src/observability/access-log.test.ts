import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '../testing/harness.js';
import { AccessLog } from './access-log.js';

test('lines are appended in order across batches, and close() writes what still waits', async () => {
  const file = join(scratchDir(), 'nested', 'access.log');
  const log = AccessLog.open(file);
  // Enough lines for several 64 KiB batches, some written while an earlier batch is in flight.
  for (let i = 0; i < 5000; i++) log.write({ n: i, path: '/x'.repeat(10), skipped: undefined });
  await new Promise((r) => setImmediate(r));
  for (let i = 5000; i < 6000; i++) log.write({ n: i, path: '/x'.repeat(10) });
  await log.close();
  log.write({ n: -1 }); // after close: ignored, not thrown
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 6000);
  lines.forEach((l, i) => assert.deepEqual(JSON.parse(l), { n: i, path: '/x'.repeat(10) }));
});

test('an existing file is appended to, not truncated', async () => {
  const file = join(scratchDir(), 'access.log');
  writeFileSync(file, '{"earlier":true}\n');
  const log = AccessLog.open(file);
  log.write({ later: true });
  await log.close();
  assert.deepEqual(
    readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown),
    [{ earlier: true }, { later: true }],
  );
});
