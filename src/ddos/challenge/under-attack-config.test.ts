// Under-attack mode from the config file (top-level `under_attack`): a node starts in it, a reload applies the
// file's value again (the admin switch holds only until then), and a bad value is refused with file:line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { formatProblem } from '../../config/index.js';
import { loadConfigText } from '../../bulwark-config.js';
import {
  request,
  startGateway,
  startOrigin,
  testYaml,
  type SimpleResponse,
  type TestGateway,
  type TestOrigin,
} from '../../testing/harness.js';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const TOKEN = 'under-attack-config-token';

let origin: TestOrigin;
let gw: TestGateway;

const yaml = (underAttack: string) =>
  testYaml(`
listeners: [{ name: public, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "${origin.url}" }] } }
admin: { address: "127.0.0.1:0", token: ${TOKEN} }
routes:
  - { name: webhooks, match: { path: { prefix: /hook } }, pool: main, stages: { challenge: { mode: never } } }
  - { name: site, pool: main }
${underAttack}
`);

before(async () => {
  origin = await startOrigin('o');
  gw = await startGateway(yaml('under_attack: { enabled: true, difficulty: 10 }'));
});

after(async () => {
  await gw.close();
  await origin.close();
});

const get = (path: string, accept: string): Promise<SimpleResponse> =>
  request(`${gw.url}${path}`, { localAddress: '127.0.0.2', headers: { accept, 'user-agent': 'Mozilla/5.0 T/1' } });

const admin = (path: string, method = 'GET', body?: unknown) =>
  request(`${gw.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** Rewrites the config file and asks the admin API to reload it. */
async function reloadWith(underAttack: string): Promise<SimpleResponse> {
  writeFileSync(gw.file, yaml(underAttack));
  return admin('/config/reload', 'POST');
}

test('a node configured with under_attack starts challenging; a reload applies the file again', async () => {
  const page = await get('/a', BROWSER);
  assert.equal(page.status, 403, 'a browser gets the challenge page');
  assert.match(page.body, /data-difficulty="10"/);
  const api = await get('/a', 'application/json');
  assert.equal(api.status, 429, 'an API client gets 429');
  assert.equal((await get('/hook/1', BROWSER)).status, 200, 'mode: never stays out');
  const mode = JSON.parse((await admin('/v1/under-attack')).body) as { enabled: boolean; difficulty: number };
  assert.deepEqual({ enabled: mode.enabled, difficulty: mode.difficulty }, { enabled: true, difficulty: 10 });
  console.log(`started: browser ${page.status}, api ${api.status}`);

  // The admin switch holds until the next reload, which sets the file's value again.
  assert.equal((await admin('/v1/under-attack', 'POST', { enabled: false })).status, 200);
  assert.equal((await get('/b', BROWSER)).status, 200, 'switched off by the admin API');
  const same = await reloadWith('under_attack: { enabled: true, difficulty: 10 }');
  assert.equal(same.status, 200, same.body);
  assert.equal((await get('/c', BROWSER)).status, 403, 'the reload put the file value back');

  const seen = origin.seen.length;
  const off = await reloadWith('under_attack: { enabled: false }');
  assert.equal(off.status, 200, off.body);
  const through = await get('/d', BROWSER);
  assert.equal(through.status, 200);
  assert.equal(through.body, 'ok from o');
  assert.equal(origin.seen.length, seen + 1, 'the request reached the origin');
  console.log(`reloaded with enabled: false: browser ${through.status} from the origin`);

  // Removing the key turns a file-set mode off; a file that never had it leaves the admin switch alone.
  assert.equal((await reloadWith('under_attack: { enabled: true }')).status, 200);
  assert.equal((await get('/e', 'application/json')).status, 429);
  assert.equal((await reloadWith('')).status, 200);
  assert.equal((await get('/f', 'application/json')).status, 200, 'key removed: mode off');
  assert.equal((await admin('/v1/under-attack', 'POST', { enabled: true })).status, 200);
  assert.equal((await reloadWith('')).status, 200);
  assert.equal((await get('/g', 'application/json')).status, 429, 'no key before or after: the admin switch stays');
  assert.equal((await admin('/v1/under-attack', 'POST', { enabled: false })).status, 200);
});

test('a bad under_attack value is a config error naming file and line; a reload with it is refused', async () => {
  const text = yaml('under_attack:\n  enabled: sometimes\n  difficulty: 99');
  const r = loadConfigText(text, 'bulwark.yaml', '.');
  assert.equal(r.ok, false);
  const lines = r.ok ? [] : r.problems.map(formatProblem);
  const line = (key: string) => text.split('\n').findIndex((l) => l.trimStart().startsWith(key)) + 1;
  assert.ok(
    lines.some((l) => l.startsWith(`bulwark.yaml:${line('enabled:')}:`) && /expected true or false/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => l.startsWith(`bulwark.yaml:${line('difficulty:')}:`) && /under_attack\.difficulty/.test(l)),
    lines.join('\n'),
  );
  console.log(lines.join('\n'));

  const refused = await reloadWith('under_attack: { enabled: sometimes }');
  assert.equal(refused.status, 400);
  assert.match(refused.body, /under_attack\.enabled/);
  assert.equal((await get('/h', BROWSER)).status, 200, 'the running configuration keeps serving');
});
