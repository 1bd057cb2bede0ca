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
// Every test gets 2 minutes, except the CRS regression suite (5,003 requests, about 2 minutes on 2 cores), which
// runs on its own afterwards with 15: node's per-file timeout would otherwise cut it on a slower machine.
const LONG = /crs\.test\.mjs$/;
let status = 0;
for (const [group, timeout] of [
  [files.filter((f) => !LONG.test(f)), 120_000],
  [files.filter((f) => LONG.test(f)), 900_000],
]) {
  if (group.length === 0) continue;
  const args = ['--test', '--test-concurrency=2', `--test-timeout=${timeout}`, ...group];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
