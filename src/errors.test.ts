// docs/errors.md and the code catalogue cannot drift: every code has a heading and every heading a code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from './errors.js';

test('docs/errors.md documents exactly the codes in src/errors.ts', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^## (BWK_ERR_[A-Z_]+)$/gm)].map((m) => m[1]));
  const declared = new Set(Object.keys(ERROR_CODES));
  assert.deepEqual(
    [...declared].filter((c) => !documented.has(c)),
    [],
    'codes without a heading',
  );
  assert.deepEqual(
    [...documented].filter((c) => !declared.has(c as string)),
    [],
    'headings without a code',
  );
});
