// The CLI as a user runs it: `bulwark check -c FILE`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { THREE_MISTAKES_YAML } from './testing/fixtures.js';
import { scratchDir } from './testing/harness.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function bulwark(...args: string[]) {
  return bulwarkWith({}, ...args);
}

function bulwarkWith(env: NodeJS.ProcessEnv, ...args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, BULWARK_ADMIN_READ_TOKEN: undefined, ...env },
  });
}

test('bulwark check prints all three mistakes with file:line:col and exits 1', () => {
  const file = join(scratchDir(), 'three.yaml');
  writeFileSync(file, THREE_MISTAKES_YAML);
  const r = bulwark('check', '-c', file);
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 4, r.stderr);
  assert.match(lines[0]!, new RegExp(`^${file}:4:5 listeners\\[0\\]\\.protocol: unknown property`));
  assert.match(lines[1]!, new RegExp(`^${file}:11:11 routes\\[0\\]\\.pool: pool "mian" is not defined`));
  assert.match(lines[2]!, new RegExp(`^${file}:13:16 routes\\[0\\]\\.timeouts\\.connect: got "5 seconds"`));
  assert.equal(lines[3], `${file}: 3 problems`);
});

test('bulwark check exits 0 on a valid file; usage errors exit 2', () => {
  const file = join(scratchDir(), 'ok.yaml');
  const def = bulwark('default-config');
  assert.equal(def.status, 0);
  writeFileSync(file, def.stdout);
  // The default's admin read token comes from the environment; a copy of it checked elsewhere needs it set.
  const ok = bulwarkWith({ BULWARK_ADMIN_READ_TOKEN: 'a-read-token-of-24-chars' }, 'check', '-c', file);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /: ok$/m);
  const unset = bulwark('check', '-c', file);
  assert.equal(unset.status, 1);
  assert.match(unset.stderr, /environment variable BULWARK_ADMIN_READ_TOKEN is not set/);
  assert.equal(bulwark('check').status, 2);
  assert.equal(bulwark('frobnicate').status, 2);
});
