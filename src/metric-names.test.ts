// Metric names read bulwark_<folder>_<name>: the folder under src/ that counts it, so an operator can tell from a
// name where to look. Loading the library entry and the processes registers every metric Bulwark has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import './index.js';
import './process/index.js';
import { collectProcessMetrics, register } from './observability/index.js';

test('every metric is named bulwark_<folder>_<name> after a folder under src/', async () => {
  collectProcessMetrics();
  const src = new URL('../src/', import.meta.url);
  const folders = readdirSync(src).filter((f) => statSync(new URL(f, src)).isDirectory());
  const names = (await register.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.length > 30, `only ${names.length} metrics registered`);
  const strays = names.filter((n) => !folders.some((f) => n.startsWith(`bulwark_${f.replace(/-/g, '_')}_`)));
  assert.deepEqual(strays, []);
});
