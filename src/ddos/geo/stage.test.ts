// Geo rules through a real gateway: clients bound to 127.0.0.x, countries from a database the test writes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblem } from '../../config/index.js';
import { loadConfigText } from '../../bulwark-config.js';
import { buildMmdb, country } from '../../testing/mmdb-writer.js';
import { GeoStage } from './stage.js';
import {
  request,
  scratchDir,
  startGateway,
  startOrigin,
  type TestGateway,
  type TestOrigin,
} from '../../testing/harness.js';

let origin: TestOrigin;
let gw: TestGateway;
let dir: string;
let dbFile: string;

const COUNTRIES = [
  { prefix: '127.0.0.2/32', data: country('DE') },
  { prefix: '127.0.0.3/32', data: country('US') },
  { prefix: '127.0.0.4/32', data: country('FR') },
];

before(async () => {
  origin = await startOrigin('o');
  dir = scratchDir();
  dbFile = join(dir, 'countries.mmdb');
  writeFileSync(dbFile, buildMmdb(COUNTRIES));
  gw = await startGateway(
    `
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes:
  - name: only-de
    pool: main
    match: { path: { prefix: /de } }
    stages: { geo: { database: countries.mmdb, allow: [DE], unknown: deny } }
  - name: no-us
    pool: main
    stages: { geo: { database: countries.mmdb, deny: [US], unknown: allow } }
`,
    dir,
  );
});

after(async () => {
  await gw?.close();
  await origin?.close();
});

const status = async (path: string, from: string) => (await request(`${gw.url}${path}`, { localAddress: from })).status;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('deny list: the denied country gets 403 geo:denied; others and unknown addresses pass', async () => {
  assert.equal(await status('/', '127.0.0.2'), 200, 'DE');
  assert.equal(await status('/', '127.0.0.4'), 200, 'FR');
  assert.equal(await status('/', '127.0.0.9'), 200, 'unknown: allow');
  const denied = await request(`${gw.url}/`, { localAddress: '127.0.0.3' });
  assert.equal(denied.status, 403, 'US');
  assert.equal(JSON.parse(denied.body).code, 'geo:denied');
  assert.equal(denied.headers['content-type'], 'application/problem+json');
});

test('allow list: only the allowed country passes; unknown: deny refuses addresses without a country', async () => {
  assert.equal(await status('/de', '127.0.0.2'), 200, 'DE');
  assert.equal(await status('/de', '127.0.0.3'), 403, 'US');
  assert.equal(await status('/de', '127.0.0.4'), 403, 'FR');
  const unknown = await request(`${gw.url}/de`, { localAddress: '127.0.0.9' });
  assert.equal(unknown.status, 403);
  assert.equal(JSON.parse(unknown.body).code, 'geo:denied');
  assert.match(JSON.parse(unknown.body).detail, /unknown/);
  const m = (await request(`${gw.adminUrl}/metrics`)).body;
  assert.match(m, /bulwark_ddos_geo_decisions_total\{route="only-de",decision="denied",country="unknown"\} 1\n/);
  assert.match(m, /bulwark_ddos_geo_decisions_total\{route="no-us",decision="denied",country="US"\} 1\n/);
});

test('a changed database is picked up; a damaged one is ignored and the previous keeps serving', async () => {
  writeFileSync(dbFile, buildMmdb([...COUNTRIES, { prefix: '127.0.0.9/32', data: country('US') }]));
  let got = 200;
  for (let i = 0; i < 60 && got === 200; i++) {
    await sleep(100);
    got = await status('/', '127.0.0.9');
  }
  assert.equal(got, 403, '127.0.0.9 is now in the US');

  const damaged = buildMmdb(COUNTRIES).subarray(0, 100);
  writeFileSync(dbFile, damaged);
  await sleep(2500); // more than two polls of the file watcher
  assert.equal(await status('/', '127.0.0.9'), 403, 'the previous database still answers');
  assert.equal(await status('/', '127.0.0.2'), 200);

  // The watcher is still alive after the bad file: a good one is taken again.
  writeFileSync(dbFile, buildMmdb(COUNTRIES));
  got = 403;
  for (let i = 0; i < 60 && got === 403; i++) {
    await sleep(100);
    got = await status('/', '127.0.0.9');
  }
  assert.equal(got, 200);
});

test('config: a missing or damaged database and no country list are refused with their position and path', () => {
  const yaml = (geo: string) => `listeners: [{ name: p, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "http://127.0.0.1:1" }] } }
routes:
  - name: r
    pool: main
    stages:
      geo: ${geo}
`;
  const r = loadConfigText(yaml('{ database: missing.mmdb, unknown: allow }'), 'g.yaml', dir);
  assert.equal(r.ok, false);
  if (!r.ok) {
    const lines = r.problems.map(formatProblem).join('\n');
    assert.match(lines, /^g\.yaml:7:\d+ routes\[0\]\.stages\.geo: names no country/m);
    assert.match(lines, /^g\.yaml:7:\d+ routes\[0\]\.stages\.geo\.database: file "missing\.mmdb" does not exist/m);
  }
  const lower = loadConfigText(yaml('{ database: countries.mmdb, deny: [us], unknown: allow }'), 'g.yaml', dir);
  assert.equal(lower.ok, false, 'ISO codes are upper case');

  const bad = join(dir, 'bad.mmdb');
  writeFileSync(bad, 'not a database\n');
  const damaged = loadConfigText(yaml('{ database: bad.mmdb, deny: [US], unknown: allow }'), 'g.yaml', dir);
  assert.equal(damaged.ok, false);
  if (!damaged.ok) {
    assert.match(
      damaged.problems.map(formatProblem).join('\n'),
      /^g\.yaml:7:\d+ routes\[0\]\.stages\.geo\.database: file ".*bad\.mmdb" is not a usable MaxMind DB file: no MaxMind DB metadata marker/m,
    );
  }
  // A file that goes bad between the check and the build: the factory refuses with the path.
  assert.throws(
    () => new GeoStage({ database: 'bad.mmdb', deny: ['US'], unknown: 'allow' }, 'r', dir),
    (e: Error & { code?: string }) => e.code === 'BWK_ERR_GEO_DATABASE' && e.message.includes(bad),
  );
});
