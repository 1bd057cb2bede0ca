// Bans with workers: 2 as a real process tree: a ban POSTed to the primary holds on every worker, an automatic
// ban made in one worker reaches the other through the primary, and a lifted ban is lifted everywhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, scratchDir, startOrigin, type TestOrigin } from '../../testing/harness.js';
import { childPids, freePort, startCli, waitFor, waitReady, type Child } from '../../testing/spawn.js';

const TOKEN = 'bans-cluster-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
let origin: TestOrigin;
let child: Child;
let url: string;
let admin: string;
let dir: string;

before(async () => {
  origin = await startOrigin('o');
  const [dataPort, adminPort] = [await freePort(), await freePort()];
  url = `http://127.0.0.1:${dataPort}`;
  admin = `http://127.0.0.1:${adminPort}`;
  dir = scratchDir();
  const file = join(dir, 'bulwark.yaml');
  writeFileSync(
    file,
    `workers: 2
# kernel spreading: one client's connections reach both workers, which is what this test needs to see
# (client_hash, the default, would keep them all on one worker).
workers_balance: kernel
shutdown_timeout: 5s
listeners:
  - { name: public, address: "127.0.0.1:${dataPort}" }
admin: { address: "127.0.0.1:${adminPort}", token: "${TOKEN}" }
log: { level: warn, access: { enabled: false } }
bans: { state_file: bans.json }
pools:
  main: { origins: [{ url: "${origin.url}" }] }
routes:
  - name: limited
    match: { path: { prefix: /limited } }
    pool: main
    stages:
      ratelimit: { rules: [{ name: tiny, key: [client], rate: 1/m, burst: 1 }] }
      bans: { triggers: [{ on: ratelimit, count: 1, within: 1m }], ban: 10m }
  - name: open
    pool: main
`,
  );
  child = startCli(file);
  await waitReady(child, admin);
  await waitFor(() => childPids(child.pid).length === 2, 10_000, 'two workers');
});

after(async () => {
  child.kill('SIGTERM');
  const exited = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
  if (exited === 'timeout') child.kill('SIGKILL');
  await origin.close();
});

/** Statuses of n requests, each on its own connection: node:cluster hands connections to workers in turn. */
async function statuses(n: number, from: string, path = '/open'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await request(`${url}${path}`, { localAddress: from })).status);
  return out;
}

/** Worker pids that refused this client, from their security events (one per worker and minute). */
async function refusingPids(client: string): Promise<Set<number>> {
  const r = await request(`${admin}/v1/events?type=ban&action=refused&limit=1000`, { headers: auth });
  const events = (JSON.parse(r.body) as { events: Array<{ client: string; pid: number }> }).events;
  return new Set(events.filter((e) => e.client === client).map((e) => e.pid));
}

test('a ban POSTed to the primary is enforced on every connection of that client, whichever worker', async () => {
  const made = await request(`${admin}/v1/bans`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ target: '127.0.0.7', duration: '10m' }),
  });
  assert.equal(made.status, 201, made.body);
  await waitFor(async () => (await statuses(1, '127.0.0.7'))[0] === 403, 5000, 'the ban to reach the workers');
  // The second worker may still be starting (readiness needs one): keep going until both have refused some,
  // every connection refused all along.
  let pids = new Set<number>();
  for (let round = 0; round < 20 && pids.size < 2; round++) {
    if (round > 0) await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(await statuses(4, '127.0.0.7'), new Array(4).fill(403));
    pids = await refusingPids('127.0.0.7');
  }
  assert.equal(pids.size, 2, `refused by both workers (pids ${[...pids].join(', ')})`);
  assert.deepEqual(await statuses(4, '127.0.0.8'), new Array(4).fill(200), 'another client passes');
  assert.deepEqual([...pids].sort(), childPids(child.pid).sort());

  const metrics = (await request(`${admin}/metrics`)).body;
  assert.match(
    metrics,
    /^bulwark_ddos_bans_total\{source="manual",reason="manual"\} 1$/m,
    'counted once, not per worker',
  );
  assert.match(metrics, /^bulwark_ddos_bans_active 1$/m, 'the same ban in every process is one ban');
});

test('an automatic ban made in one worker holds in the other; DELETE on the primary lifts it everywhere', async () => {
  const client = '127.0.0.9';
  // Burst 1 per worker: the first 429 (in whichever worker) bans the client.
  const seen: number[] = [];
  while (!seen.includes(429)) {
    seen.push((await statuses(1, client, '/limited'))[0]!);
    assert.ok(seen.length <= 4, `no 429 after ${seen.join(', ')}`);
  }
  // The ban travels worker -> primary -> other worker; then every connection is refused.
  await waitFor(async () => (await statuses(4, client)).every((s) => s === 403), 5000, 'the ban on both workers');
  assert.deepEqual(await statuses(6, client), new Array(6).fill(403));
  // Workers hand their events to the primary in batches (up to 50 ms apart): wait for both workers' refusals.
  await waitFor(async () => (await refusingPids(client)).size === 2, 5000, 'refusals from both workers in the events');

  const listed = JSON.parse((await request(`${admin}/v1/bans?target=${client}`, { headers: auth })).body) as {
    bans: Array<{ source: string; reason: string; strikes: number }>;
  };
  assert.deepEqual(
    listed.bans.map((b) => [b.source, b.reason, b.strikes]),
    [['auto', 'ratelimit:tiny', 1]],
  );
  await waitFor(() => readFileSync(join(dir, 'bans.json'), 'utf8').includes(client), 5000, 'the state file');

  const lifted = await request(`${admin}/v1/bans/${client}`, { method: 'DELETE', headers: auth });
  assert.equal(lifted.status, 200, lifted.body);
  await waitFor(async () => (await statuses(4, client)).every((s) => s === 200), 5000, 'the unban on both workers');
});
