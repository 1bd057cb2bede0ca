// workers: 2 as a real process tree: while 10,000 requests are refused by a WAF rule (one security event each),
// a reader pages GET /v1/events with after=next and sees every one exactly once, in one increasing order, from
// both workers; order=desc pages the same events back. Without a token the endpoint answers 401, and none of the
// refusals reaches the process log at warn.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, scratchDir, startOrigin, type TestOrigin } from '../testing/harness.js';
import { childPids, freePort, startCli, waitReady, type Child } from '../testing/spawn.js';

const READ = 'events-read-token-0123456789';
const TOTAL = 10_000;
/** Client /24s on loopback: the primary hands connections to workers by the client address's /24. */
const CLIENTS = 8;
const CONCURRENCY = 32;

interface Event {
  seq: number;
  pid: number;
  request_id: string;
  uri: string;
  action: string;
}
interface Page {
  events: Event[];
  next: number;
  first: number;
  last: number;
}

let origin: TestOrigin;
let child: Child;
let url: string;
let admin: string;

before(async () => {
  origin = await startOrigin('o');
  const [dataPort, adminPort] = [await freePort(), await freePort()];
  url = `http://127.0.0.1:${dataPort}`;
  admin = `http://127.0.0.1:${adminPort}`;
  const dir = scratchDir();
  const rules = join(dir, 'refuse.conf');
  writeFileSync(rules, `SecRule REQUEST_URI "@beginsWith /evt/" "id:10001,phase:1,deny,status:403,msg:'paging'"\n`);
  const file = join(dir, 'bulwark.yaml');
  // Room for every event: this test is about order and paging, not about what a full ring drops.
  writeFileSync(
    file,
    `workers: 2
listeners:
  - { name: public, address: "127.0.0.1:${dataPort}" }
admin: { address: "127.0.0.1:${adminPort}", tokens: { read: "${READ}" } }
log: { level: info, access: { enabled: false } }
waf:
  crs: { enabled: false }
  rules_files: [${JSON.stringify(rules)}]
  events: { keep: ${TOTAL * 2} }
pools:
  main: { origins: [{ url: "${origin.url}" }] }
routes:
  - name: all
    pool: main
    stages: { waf: {} }
`,
  );
  child = startCli(file);
  await waitReady(child, admin);
});

after(async () => {
  child.kill('SIGKILL');
  await origin.close();
});

function getJson(path: string, token = READ): Promise<{ status: number; body: unknown }> {
  return request(`${admin}${path}`, { headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 }).then((r) => ({
    status: r.status,
    body: JSON.parse(r.body) as unknown,
  }));
}

/** Sends TOTAL refused requests over keep-alive connections from CLIENTS addresses; resolves with their ids. */
async function produce(): Promise<Map<string, number>> {
  const agents = Array.from(
    { length: CLIENTS },
    (_, k) => new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY / CLIENTS, localAddress: `127.0.${k + 1}.1` }),
  );
  const ids = new Map<string, number>();
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = http.get(`${url}/evt/${i}`, { agent: agents[i % CLIENTS] }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 403) reject(new Error(`request ${i}: status ${res.statusCode}`));
          else {
            ids.set(res.headers['x-request-id'] as string, i);
            resolve();
          }
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error(`request ${i} timed out`)));
      req.on('error', reject);
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < TOTAL) await one(next++);
    }),
  );
  for (const a of agents) a.destroy();
  return ids;
}

test('GET /v1/events without a token is 401 on a cluster too', async () => {
  const r = await request(`${admin}/v1/events`);
  assert.equal(r.status, 401);
  assert.match(r.body, /BWK_ERR_ADMIN_UNAUTHORIZED/);
  assert.equal((await getJson('/v1/events', 'a-wrong-token-0123456789')).status, 401);
});

test('a reader paging with after=next while 10,000 events are made sees each exactly once, from both workers', async () => {
  const start = (await getJson('/v1/events?order=desc&limit=1')).body as Page;
  let after = start.last;
  const read: Event[] = [];
  let produced: Map<string, number> | undefined;
  const producing = produce().then((ids) => (produced = ids));
  let pages = 0;
  const deadline = Date.now() + 90_000;
  // Read while the producers run, then until every event has arrived (the workers send theirs in batches).
  while (read.length < TOTAL && Date.now() < deadline) {
    const r = await getJson(`/v1/events?after=${after}&limit=500`);
    assert.equal(r.status, 200);
    const page = r.body as Page;
    pages++;
    assert.ok(page.first <= after + 1, `the ring dropped events: first ${page.first}, after ${after}`);
    read.push(...page.events);
    assert.ok(page.next >= after, 'next never goes back');
    after = page.next;
    if (page.events.length === 0) await new Promise((r) => setTimeout(r, produced ? 50 : 10));
  }
  await producing;
  // One more page: nothing beyond the 10,000.
  const tail = (await getJson(`/v1/events?after=${after}&limit=500`)).body as Page;
  read.push(...tail.events);

  assert.ok(pages > 2, `the reader paged while events were made (${pages} pages)`);
  assert.equal(produced!.size, TOTAL, 'every request had its own id');
  const seqs = read.map((e) => e.seq);
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `seq ${seqs[i]} after ${seqs[i - 1]}`);
  const ids = new Set(read.map((e) => e.request_id));
  assert.equal(ids.size, read.length, 'no event read twice');
  const lost = [...produced!.keys()].filter((id) => !ids.has(id));
  assert.deepEqual(lost.slice(0, 5), [], `no event lost (${lost.length} missing)`);
  assert.equal(read.length, TOTAL);
  for (const e of read) {
    assert.equal(e.action, 'blocked');
    assert.equal(e.uri, `/evt/${produced!.get(e.request_id)}`);
  }
  const workers = childPids(child.pid);
  const pids = new Set(read.map((e) => e.pid));
  assert.equal(pids.size, 2, `events from both workers (pids ${[...pids].join(', ')})`);
  for (const pid of pids) assert.ok(workers.includes(pid), `pid ${pid} is a worker`);

  // order=desc from the newest pages the same events back, newest first.
  const back: Event[] = [];
  let before = (await getJson('/v1/events?order=desc&limit=1')).body as Page;
  let bound = before.last + 1;
  for (let i = 0; i < 100; i++) {
    before = (await getJson(`/v1/events?order=desc&before=${bound}&after=${start.last}&limit=1000`)).body as Page;
    if (before.events.length === 0) break;
    back.push(...before.events);
    bound = before.next;
  }
  assert.deepEqual(
    back.map((e) => e.seq),
    [...seqs].reverse(),
  );

  // Quiet: the refusals are at info at most; nothing of them at warn or above in the process log.
  const loud = child.log.filter((line) => line.includes('"event"') && /"level":(4|5|6)\d/.test(line));
  assert.deepEqual(loud.slice(0, 2), []);
  assert.ok(child.log.some((line) => line.includes('"msg":"waf blocked"') && line.includes('"level":30')));
});
