import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request, startGateway, startOrigin, testYaml } from '../testing/harness.js';

const TOKEN = 'test-admin-token-0123456789';

test('hot reload: a bad file is refused and the old config serves; a good one applies; in-flight finishes on the old', async () => {
  const origin = await startOrigin('o', (req, res) => {
    if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('slow'), 600);
    else res.writeHead(200).end('fast');
  });
  const yaml = (extra: string) => `
listeners:
  - { name: public, address: "127.0.0.1:0" }
admin: { address: "127.0.0.1:0", token: "${TOKEN}" }
pools:
  main: { origins: [{ url: "${origin.url}" }] }
routes:
  - name: all
    pool: main
${extra}`;
  const gw = await startGateway(yaml(''));
  const reload = (token?: string) =>
    request(`${gw.adminUrl}/config/reload`, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  assert.equal((await reload()).status, 401, 'no token');
  assert.equal((await reload('wrong-token-wrong-token')).status, 401, 'wrong token');

  const good = readFileSync(gw.file, 'utf8');
  writeFileSync(gw.file, good.replace('pool: main', 'pool: missing'));
  const refused = await reload(TOKEN);
  assert.equal(refused.status, 400);
  const body = JSON.parse(refused.body) as { error: { code: string; problems: Array<{ message: string }> } };
  assert.equal(body.error.code, 'BWK_ERR_RELOAD_FAILED');
  assert.match(body.error.problems[0]!.message, /pool "missing" is not defined/);
  assert.equal((await request(`${gw.url}/`)).body, 'fast', 'the old config keeps serving');

  const inflight = request(`${gw.url}/slow`);
  await new Promise((r) => setTimeout(r, 100));
  writeFileSync(gw.file, testYaml(yaml('    headers: { response: { set: { x-generation: two } } }')));
  const ok = await reload(TOKEN);
  assert.equal(ok.status, 200, ok.body);
  const old = await inflight;
  assert.equal(old.body, 'slow');
  assert.equal(old.headers['x-generation'], undefined, 'the in-flight request finished on the config it started with');
  const fresh = await request(`${gw.url}/`);
  assert.equal(fresh.headers['x-generation'], 'two');
  await gw.close();
  await origin.close();
});
