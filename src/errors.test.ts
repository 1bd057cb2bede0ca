// docs/errors.md and the code catalogue cannot drift: every code has a heading and every heading a code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
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

test('every BWK_ERR_* code written anywhere in src/ is in the catalogue', () => {
  const src = new URL('../src/', import.meta.url);
  const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  const declared = new Set(Object.keys(ERROR_CODES));
  const strays: string[] = [];
  for (const f of files) {
    const text = readFileSync(new URL(f, src), 'utf8');
    for (const m of text.matchAll(/\bBWK_ERR_[A-Z0-9_]*[A-Z0-9]\b/g))
      if (!declared.has(m[0]) && !strays.includes(`${f}: ${m[0]}`)) strays.push(`${f}: ${m[0]}`);
  }
  assert.deepEqual(strays, [], 'codes used but not declared in src/errors.ts');
});
