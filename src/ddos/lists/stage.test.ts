import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblem } from '../../config/index.js';
import { loadConfigText } from '../../bulwark-config.js';
import {
  request,
  scratchDir,
  startGateway,
  startOrigin,
  type TestGateway,
  type TestOrigin,
} from '../../testing/harness.js';
import { parseList } from './list-file.js';

let origin: TestOrigin;
let gw: TestGateway;
let denyFile: string;

before(async () => {
  origin = await startOrigin('o');
  const dir = scratchDir();
  denyFile = join(dir, 'deny.txt');
  writeFileSync(denyFile, '# reputation feed\n127.0.0.20\nnot-an-address\n127.0.1.0/24  # a whole network\n');
  gw = await startGateway(
    `
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes:
  - name: all
    pool: main
    stages:
      lists:
        allow: [127.0.1.9]
        deny: [127.0.0.21, "::ffff:127.0.0.22"]
        deny_files: [deny.txt]
`,
    dir,
  );
});

after(async () => {
  await gw.close();
  await origin.close();
});

const status = async (from: string) => (await request(`${gw.url}/`, { localAddress: from })).status;

test('list files: one entry a line, comments, bad lines reported with their number', () => {
  const { cidrs, problems } = parseList('# c\n10.0.0.1\n\nbad\n2001:db8::/32 # v6\n10.0.0.0/40\n');
  assert.deepEqual(
    cidrs.map((c) => c.text),
    ['10.0.0.1', '2001:db8::/32'],
  );
  assert.deepEqual(
    problems.map((p) => p.line),
    [4, 6],
  );
});

test('deny from config and file with 403; allow wins over deny; others pass', async () => {
  assert.equal(await status('127.0.0.20'), 403, 'file entry');
  assert.equal(await status('127.0.0.21'), 403, 'config entry');
  assert.equal(await status('127.0.0.22'), 403, 'IPv4-mapped config entry');
  assert.equal(await status('127.0.1.5'), 403, 'file CIDR');
  assert.equal(await status('127.0.1.9'), 200, 'allow is checked before deny');
  assert.equal(await status('127.0.0.23'), 200);
  const denied = await request(`${gw.url}/`, { localAddress: '127.0.0.20' });
  assert.equal(JSON.parse(denied.body).code, 'lists:denied');
});

test('a changed list file is picked up without a reload', async () => {
  assert.equal(await status('127.0.0.24'), 200);
  appendFileSync(denyFile, '127.0.0.24\n');
  let got = 200;
  for (let i = 0; i < 60 && got === 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    got = await status('127.0.0.24');
  }
  assert.equal(got, 403);
  const m = await request(`${gw.adminUrl}/metrics`);
  assert.match(m.body, /bulwark_ddos_list_entries\{route="all",list="deny"\} 5/);
});

test('a bad line written into a list file of a running node is skipped; the lines around it apply', async () => {
  appendFileSync(denyFile, '300.1.2.3\n127.0.0.26\n');
  let got = 200;
  for (let i = 0; i < 60 && got === 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    got = await status('127.0.0.26');
  }
  assert.equal(got, 403, 'the line after the bad one applies');
  assert.equal(await status('127.0.0.20'), 403, 'earlier lines still apply');
  assert.equal(await status('127.0.0.27'), 200, 'the node keeps serving');
  const lines = readFileSync(denyFile, 'utf8').split('\n');
  const bad = parseList(lines.join('\n')).problems.map((p) => p.line);
  assert.deepEqual(bad, [lines.indexOf('not-an-address') + 1, lines.indexOf('300.1.2.3') + 1]);
});

test('bad list config is refused at load with its position', () => {
  const r = loadConfigText(
    `listeners: [{ name: p, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "http://127.0.0.1:1" }] } }
routes:
  - name: r
    pool: main
    stages:
      lists: { deny: [10.0.0.0/33], deny_files: [missing.txt] }
`,
    'l.yaml',
    '/tmp',
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  const lines = r.problems.map(formatProblem).join('\n');
  assert.match(lines, /^l\.yaml:7:\d+ routes\[0\]\.stages\.lists\.deny\[0\]: "10\.0\.0\.0\/33" has prefix length/m);
  assert.match(
    lines,
    /^l\.yaml:7:\d+ routes\[0\]\.stages\.lists\.deny_files\[0\]: file "missing\.txt" does not exist/m,
  );
});
