import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { THREE_MISTAKES_YAML } from '../testing/fixtures.js';
import { formatProblem } from './index.js';
import { loadConfigFile, loadConfigText } from '../bulwark-config.js';

const VALID = `
listeners:
  - name: public
    address: 127.0.0.1:8080
pools:
  main:
    origins:
      - url: http://127.0.0.1:9000
routes:
  - name: all
    pool: main
`;

test('a valid file loads, with defaults filled in', () => {
  const r = loadConfigText(VALID, 'ok.yaml', '/tmp');
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.equal(r.loaded.config.workers, 'auto');
  assert.deepEqual(r.loaded.config.listeners[0]!.protocols, ['http1']);
  assert.equal(r.loaded.config.pools.main!.balancer, 'round_robin');
});

test('three mistakes are all reported with file:line:col and path', () => {
  const text = THREE_MISTAKES_YAML;
  const r = loadConfigText(text, 'bad.yaml', '/tmp');
  assert.equal(r.ok, false);
  if (r.ok) return;
  const lines = r.problems.map(formatProblem);
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0]!, /^bad\.yaml:4:5 listeners\[0\]\.protocol: unknown property "protocol"/);
  assert.match(lines[1]!, /^bad\.yaml:11:11 routes\[0\]\.pool: pool "mian" is not defined; expected one of: main/);
  assert.match(lines[2]!, /^bad\.yaml:13:16 routes\[0\]\.timeouts\.connect: got "5 seconds"; expected a duration/);
});

test('${VAR} is substituted from the environment; a missing one is an error at its position', () => {
  const text = VALID + 'admin:\n  address: 127.0.0.1:9901\n  token: ${TEST_TOKEN}\n';
  const ok = loadConfigText(text, 'env.yaml', '/tmp', { TEST_TOKEN: 'a-long-enough-secret-token' });
  assert.equal(ok.ok, true);
  if (ok.ok) assert.equal(ok.loaded.config.admin?.token, 'a-long-enough-secret-token');
  const missing = loadConfigText(text, 'env.yaml', '/tmp', {});
  assert.equal(missing.ok, false);
  if (!missing.ok) {
    assert.equal(missing.problems.length, 1);
    assert.match(formatProblem(missing.problems[0]!), /^env\.yaml:14:10 admin\.token: environment variable TEST_TOKEN/);
  }
  const literal = loadConfigText(VALID + 'log:\n  access:\n    destination: /tmp/$${x}\n', 'l.yaml', '/tmp', {});
  assert.equal(literal.ok, true);
  if (literal.ok) assert.equal(literal.loaded.config.log?.access?.destination, '/tmp/${x}');
});

test('cross-references: failover loops, admin on a data port, bad CIDRs, bad regex, missing cert files', () => {
  const text = `listeners:
  - name: a
    address: 127.0.0.1:8080
  - name: t
    address: 127.0.0.1:8443
    protocols: [http1, h2c]
    tls:
      certificates:
        - { cert: nope.pem, key: nope.key }
pools:
  one: { origins: [{ url: "http://127.0.0.1:1" }], failover: two }
  two: { origins: [{ url: "http://127.0.0.1:2" }], failover: one }
routes:
  - name: r
    pool: one
    match: { path: { regex: "(" } }
    stages:
      access:
        rules: [{ action: deny, cidrs: [300.1.1.1] }]
trusted_proxies: [10.0.0.0/99]
admin:
  address: 127.0.0.1:8080
`;
  const r = loadConfigText(text, 'x.yaml', '/nonexistent');
  assert.equal(r.ok, false);
  if (r.ok) return;
  const all = r.problems.map(formatProblem).join('\n');
  for (const want of [
    /h2c is HTTP\/2 without TLS/,
    /file "nope\.pem" does not exist/,
    /failover chain loops: one -> two -> one/,
    /not a valid RE2 regex/,
    /"300\.1\.1\.1" is not an IP address/,
    /prefix length "99"/,
    /admin API must not share port 8080/,
  ])
    assert.match(all, want);
});

test('YAML syntax errors and non-mapping documents are reported, not thrown', () => {
  const broken = loadConfigText('listeners: [\n', 'y.yaml', '/tmp');
  assert.equal(broken.ok, false);
  if (!broken.ok) assert.match(formatProblem(broken.problems[0]!), /^y\.yaml:\d+:\d+: YAML:/);
  const scalar = loadConfigText('just a string\n', 's.yaml', '/tmp');
  assert.equal(scalar.ok, false);
});

test('loadConfigFile names a missing file', () => {
  const r = loadConfigFile(join(tmpdir(), 'does-not-exist-bulwark.yaml'));
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.problems[0]!.message, /file not found/);
  const dir = mkdtempSync(join(tmpdir(), 'bwk-'));
  writeFileSync(join(dir, 'b.yaml'), VALID);
  assert.equal(loadConfigFile(join(dir, 'b.yaml')).ok, true);
});

test('the embedded default is valid once its admin read token is in the environment', () => {
  const r = loadConfigFile(undefined, { BULWARK_ADMIN_READ_TOKEN: 'a-read-token-of-24-chars' });
  assert.equal(r.ok, true);
  // `bulwark start` sets it when unset (src/main.ts); a copy of the default run elsewhere names it.
  const bare = loadConfigFile(undefined, {});
  assert.equal(bare.ok, false);
  if (!bare.ok) assert.match(bare.problems[0]!.message, /environment variable BULWARK_ADMIN_READ_TOKEN is not set/);
});
