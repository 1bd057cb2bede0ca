// The OWASP CRS v4.28.0 regression suite (5,003 go-ftw tests) against Bulwark, as part of `npm test`: every test
// passes or is one of the overrides in test/crs-overrides.yaml (at most 10, each with its reason).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const crsDir = process.env.CRS_DIR ?? join(root, '..', 'shared', 'crs', 'v4.28.0');
const present = existsSync(join(crsDir, 'tests', 'regression', 'tests'));

test(
  'CRS regression suite: failed = 0, overridden ≤ 10',
  { skip: !present && `no CRS at ${crsDir}`, timeout: 900_000 },
  () => {
    const overrides = parse(readFileSync(join(root, 'test', 'crs-overrides.yaml'), 'utf8'))?.overrides ?? [];
    assert.ok(overrides.length <= 10, `${overrides.length} overrides; at most 10 are allowed`);
    for (const o of overrides) assert.ok(o.test && o.reason, `override without test or reason: ${JSON.stringify(o)}`);
    const run = spawnSync(process.execPath, [join(root, 'test', 'crs', 'run.mjs'), '--crs', crsDir], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const summary = /crs: (\d+) passed, (\d+) failed, (\d+) overridden \(of (\d+)\)/.exec(run.stdout);
    console.log(summary ? summary[0] : `no summary; stderr: ${run.stderr.slice(-2000)}`);
    assert.ok(summary, 'the runner printed its summary');
    const [, passed, failed, overridden, total] = summary.map(Number);
    if (failed > 0)
      console.log(
        run.stdout
          .split('\n')
          .filter((l) => l.startsWith('FAIL'))
          .slice(0, 50)
          .join('\n'),
      );
    assert.equal(failed, 0, `${failed} CRS tests failed`);
    assert.ok(overridden <= 10);
    assert.equal(passed + overridden, total);
    assert.ok(total >= 5000, `expected the whole suite, got ${total}`);
  },
);
