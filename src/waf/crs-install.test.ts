import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateCrs } from './crs.js';
import { crsTreeDigest, installCrs, PINNED_CRS_DIGEST } from './crs-install.js';
import { isCrsRelease } from './crs.js';

const crs = locateCrs(undefined, process.cwd());
const skip = !crs.ok && 'no CRS release found';
const source = crs.ok ? crs.dir : '';

test(
  'crs install --from a release folder copies and verifies it; the same release as an archive too',
  { skip },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'bulwark-crs-test-'));
    try {
      const fromDir = await installCrs({ from: source, dest: join(work, 'a') });
      assert.ok(fromDir.ok, fromDir.ok ? '' : fromDir.message);
      assert.equal(fromDir.verified, true);
      assert.equal(fromDir.digest, PINNED_CRS_DIGEST);
      assert.ok(isCrsRelease(join(work, 'a')));
      // The archive GitHub serves has one top folder, coreruleset-<version>.
      cpSync(source, join(work, 'pack', 'coreruleset-4.28.0'), { recursive: true });
      const tar = spawnSync('tar', ['-czf', join(work, 'crs.tar.gz'), '-C', join(work, 'pack'), 'coreruleset-4.28.0']);
      assert.equal(tar.status, 0);
      const fromArchive = await installCrs({ from: join(work, 'crs.tar.gz'), dest: join(work, 'b') });
      assert.ok(fromArchive.ok, fromArchive.ok ? '' : fromArchive.message);
      assert.equal(crsTreeDigest(join(work, 'b')), PINNED_CRS_DIGEST);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);

test('crs install refuses modified rules, a wrong version and things that are not releases', { skip }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'bulwark-crs-test-'));
  try {
    const modified = join(work, 'modified');
    cpSync(source, modified, { recursive: true });
    appendFileSync(join(modified, 'rules', 'REQUEST-942-APPLICATION-ATTACK-SQLI.conf'), '\n# edited\n');
    const r = await installCrs({ from: modified, dest: join(work, 'out') });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /differ from the pinned CRS 4\.28\.0 release/);
    assert.equal(existsSync(join(work, 'out')), false, 'nothing installed');

    const wrong = await installCrs({ from: source, version: '4.27.0', dest: join(work, 'out') });
    assert.match(wrong.ok ? '' : wrong.message, /holds CRS 4\.28\.0, not 4\.27\.0/);
    const notRelease = await installCrs({ from: work, dest: join(work, 'out') });
    assert.match(notRelease.ok ? '' : notRelease.message, /is not a CRS release/);
    const badVersion = await installCrs({ version: 'latest' });
    assert.match(badVersion.ok ? '' : badVersion.message, /expected a release number/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('bulwark crs install and crs where on the command line', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'bulwark-crs-test-'));
  try {
    const main = join(process.cwd(), 'dist', 'main.js');
    const install = spawnSync(process.execPath, [main, 'crs', 'install', '--from', source, '--dest', join(work, 'c')], {
      encoding: 'utf8',
    });
    assert.equal(install.status, 0, install.stderr);
    assert.match(install.stdout, /crs: installed OWASP CRS v4\.28\.0 into .* verified against the pinned digest/);
    const where = spawnSync(process.execPath, [main, 'crs', 'where'], {
      encoding: 'utf8',
      env: { ...process.env, BULWARK_CRS_DIR: join(work, 'c') },
    });
    assert.equal(where.status, 0, where.stderr);
    assert.equal(where.stdout.trim(), join(work, 'c'));
    const usage = spawnSync(process.execPath, [main, 'crs', 'remove'], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
