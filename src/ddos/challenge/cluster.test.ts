// workers: 2 as a real process tree: under-attack mode reaches every worker (and a replacement worker), and a
// challenge issued by one worker is verified by the other, its cookie accepted by both (one node secret).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, scratchDir, startOrigin, type TestOrigin } from '../../testing/harness.js';
import { childPids, freePort, startCli, waitFor, type Child } from '../../testing/spawn.js';
import { solves } from './tokens.js';

const TOKEN = 'challenge-cluster-token';
const BROWSER = 'text/html,*/*;q=0.8';
let origin: TestOrigin;
let child: Child;
let url: string;
let admin: string;
let file: string;
let configText: string;

before(async () => {
  origin = await startOrigin('o');
  const [dataPort, adminPort] = [await freePort(), await freePort()];
  url = `http://127.0.0.1:${dataPort}`;
  admin = `http://127.0.0.1:${adminPort}`;
  file = join(scratchDir(), 'bulwark.yaml');
  configText = `workers: 2
listeners: [{ name: public, address: "127.0.0.1:${dataPort}" }]
admin: { address: "127.0.0.1:${adminPort}", token: "${TOKEN}" }
log: { level: warn, access: { enabled: false } }
pools: { main: { origins: [{ url: "${origin.url}" }] } }
routes: [{ name: all, pool: main }]
`;
  writeFileSync(file, configText);
  child = startCli(file);
  await waitFor(async () => (await request(`${admin}/readyz`)).status === 200, 20_000, 'readiness');
  // Both workers up: readiness answers once one is.
  await waitFor(
    async () => /^bulwark_process_workers 2$/m.test((await request(`${admin}/metrics`)).body),
    20_000,
    '2 workers',
  );
});

after(async () => {
  child.kill('SIGKILL');
  await origin.close();
});

const browse = (path: string, cookie?: string) =>
  request(`${url}${path}`, { headers: { accept: BROWSER, 'user-agent': 'T/1', ...(cookie ? { cookie } : {}) } });

const setMode = (body: object) =>
  request(`${admin}/v1/under-attack`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Each request is a new connection, which node:cluster hands to the workers in turn. */
async function statuses(n: number, cookie?: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await browse(`/p${i}`, cookie)).status);
  return out;
}

async function earnCookie(): Promise<string> {
  const page = await browse('/start');
  assert.equal(page.status, 403);
  const challenge = /data-challenge="([^"]+)"/.exec(page.body)![1]!;
  let n = 0;
  while (!solves(challenge, String(n), 10)) n++;
  const verified = await browse(`/start?__bulwark_chl=${encodeURIComponent(challenge)}&__bulwark_nonce=${n}`);
  assert.equal(verified.status, 303, 'verified by whichever worker got the connection');
  const c = verified.headers['set-cookie']![0]!;
  return c.slice(0, c.indexOf(';'));
}

test(
  'under-attack mode reaches both workers; challenges and cookies are good on either',
  { timeout: 60_000 },
  async () => {
    assert.deepEqual(await statuses(4), [200, 200, 200, 200]);
    assert.equal((await setMode({ enabled: true, difficulty: 10 })).status, 200);
    await waitFor(async () => (await statuses(4)).every((s) => s === 403), 5000, 'every worker challenging');
    for (let round = 0; round < 3; round++) {
      const cookie = await earnCookie();
      assert.deepEqual(await statuses(4, cookie), [200, 200, 200, 200], `round ${round}`);
    }

    // A replacement worker gets the secret and the mode before its first configuration.
    const cookie = await earnCookie();
    const workers = childPids(child.pid);
    process.kill(workers[0]!, 'SIGKILL');
    await waitFor(
      async () =>
        childPids(child.pid).filter((p) => !workers.includes(p)).length === 1 &&
        /^bulwark_process_workers 2$/m.test((await request(`${admin}/metrics`)).body),
      20_000,
      'a replacement worker',
    );
    await waitFor(async () => (await statuses(2, cookie)).every((s) => s === 200), 10_000, 'replacement serving');
    assert.deepEqual(await statuses(4, cookie), [200, 200, 200, 200], 'old cookie good on the new worker');
    assert.deepEqual(await statuses(4), [403, 403, 403, 403], 'no cookie: challenged by both');

    assert.equal((await setMode({ enabled: false })).status, 200);
    await waitFor(async () => (await statuses(4)).every((s) => s === 200), 5000, 'mode off everywhere');
    assert.equal(
      (
        JSON.parse(
          (await request(`${admin}/v1/under-attack`, { headers: { authorization: `Bearer ${TOKEN}` } })).body,
        ) as { enabled: boolean }
      ).enabled,
      false,
    );
  },
);

test(
  'under_attack in the file: a reload sets the mode on every worker through the primary',
  { timeout: 60_000 },
  async () => {
    const reload = async (underAttack: string) => {
      writeFileSync(file, configText + underAttack);
      const r = await request(`${admin}/config/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(r.status, 200, r.body);
    };
    assert.deepEqual(await statuses(4), [200, 200, 200, 200]);
    await reload('under_attack: { enabled: true, difficulty: 10 }\n');
    await waitFor(async () => (await statuses(4)).every((s) => s === 403), 5000, 'every worker challenging');
    const api = await request(`${url}/api`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 429);
    const mode = JSON.parse(
      (await request(`${admin}/v1/under-attack`, { headers: { authorization: `Bearer ${TOKEN}` } })).body,
    ) as {
      enabled: boolean;
      difficulty: number;
    };
    assert.deepEqual([mode.enabled, mode.difficulty], [true, 10]);
    await reload('under_attack: { enabled: false }\n');
    await waitFor(async () => (await statuses(4)).every((s) => s === 200), 5000, 'mode off on every worker');
  },
);
