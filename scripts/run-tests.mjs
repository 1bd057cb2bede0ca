#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ (tests live beside the code) and test/*.test.mjs with node's test runner.
// Node 20's `node --test` takes no globs, so the file list is built here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.test\.(js|mjs)$/.test(name)) out.push(path);
  }
  return out;
}

const filter = process.argv[2];
const files = [...walk('dist', []), ...walk('test', [])].filter((f) => !filter || f.includes(filter)).sort();
if (files.length === 0) {
  console.error('run-tests: no test files found (did the build run?)');
  process.exit(1);
}
const args = ['--test', '--test-concurrency=2', '--test-timeout=120000', ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
