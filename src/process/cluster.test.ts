// workers: 2 as a real process tree: metrics summed across workers, a killed worker replaced, reloads applied
// everywhere or refused, SIGTERM draining in-flight requests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, scratchDir, startOrigin, type TestOrigin } from '../testing/harness.js';
import type { LoadedConfig } from '../bulwark-config.js';
import { workerExecArgv } from './cluster.js';
import { childPids, freePort, startCli, waitFor, waitReady, type Child } from '../testing/spawn.js';

const TOKEN = 'cluster-test-token-0123456789';
let origin: TestOrigin;
let child: Child;
let url: string;
let admin: string;
let file: string;

function config(dataPort: number, adminPort: number, extra = ''): string {
  return `workers: 2
worker_heap_limit: 768MiB
shutdown_timeout: 10s
listeners:
  - { name: public, address: "127.0.0.1:${dataPort}" }
admin: { address: "127.0.0.1:${adminPort}", token: "${TOKEN}" }
log: { level: info, access: { enabled: false } }
pools:
  main: { origins: [{ url: "${origin.url}" }] }
routes:
  - name: all
    pool: main
${extra}`;
}

before(async () => {
  origin = await startOrigin('o', (req, res) => {
    if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('slow done'), 1500);
    else res.writeHead(200).end('ok');
  });
  const [dataPort, adminPort] = [await freePort(), await freePort()];
  url = `http://127.0.0.1:${dataPort}`;
  admin = `http://127.0.0.1:${adminPort}`;
  file = join(scratchDir(), 'bulwark.yaml');
  writeFileSync(file, config(dataPort, adminPort));
  child = startCli(file);
  await waitReady(child, admin);
  (child as { dataPort?: number }).dataPort = dataPort;
  (child as { adminPort?: number }).adminPort = adminPort;
});

after(async () => {
  child.kill('SIGKILL');
  await origin.close();
});

const total = (metrics: string) =>
  [...metrics.matchAll(/^bulwark_gateway_requests_total\{route="all",status="200"\} (\d+)$/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );

test('metrics are summed across both workers', async () => {
  const before = total((await request(`${admin}/metrics`)).body);
  for (let i = 0; i < 40; i++) assert.equal((await request(`${url}/m${i}`)).status, 200);
  const after = total((await request(`${admin}/metrics`)).body);
  assert.equal(after - before, 40);
  assert.match((await request(`${admin}/metrics`)).body, /^bulwark_process_workers 2$/m);
});

test('workers run with the configured V8 heap limit, unless node was given its own', async () => {
  const workers = childPids(child.pid);
  assert.equal(workers.length, 2);
  for (const pid of workers) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes('--max-old-space-size=768'), argv.join(' '));
  }
  const loaded = { config: { worker_heap_limit: '2GiB' } } as unknown as LoadedConfig;
  assert.deepEqual(workerExecArgv(loaded, ['--enable-source-maps']), [
    '--enable-source-maps',
    '--max-old-space-size=2048',
  ]);
  assert.deepEqual(workerExecArgv(loaded, ['--max-old-space-size=300']), ['--max-old-space-size=300']);
  assert.deepEqual(workerExecArgv(loaded, [], '--trace-warnings --max_old_space_size=300'), []);
  const defaults = { config: {} } as unknown as LoadedConfig;
  assert.deepEqual(workerExecArgv(defaults, []), ['--max-old-space-size=1024']);
});

test('a killed worker is replaced and the gateway keeps answering', async () => {
  const workers = childPids(child.pid);
  assert.equal(workers.length, 2);
  process.kill(workers[0]!, 'SIGKILL');
  // On Node 20 the primary accepts connections and hands them to workers; one handed to the worker just as it
  // died is lost (node:cluster keeps it until the client gives up). Every request after that must succeed.
  let lost = 0;
  for (let i = 0; i < 20; i++) {
    const r = await request(`${url}/k${i}`, { timeoutMs: 2000 }).catch(() => undefined);
    if (r?.status === 200) continue;
    lost++;
    assert.ok(i < 3 && lost <= 1, `request ${i} failed after the worker's death was known`);
  }
  await waitFor(
    () => {
      const now = childPids(child.pid);
      return now.length === 2 && !now.includes(workers[0]!);
    },
    10_000,
    'a replacement worker',
  );
  await waitFor(
    async () => /bulwark_process_worker_restarts_total 1/.test((await request(`${admin}/metrics`)).body),
    5000,
    'restart counted',
  );
});

test('reload: bad file refused on every worker, good file applied on every worker, SIGHUP too', async () => {
  const { dataPort, adminPort } = child as unknown as { dataPort: number; adminPort: number };
  const reload = () =>
    request(`${admin}/config/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  writeFileSync(file, config(dataPort, adminPort).replace('pool: main', 'pool: nope'));
  const refused = await reload();
  assert.equal(refused.status, 400);
  assert.match(refused.body, /pool \\"nope\\" is not defined/);
  assert.equal((await request(`${url}/`)).status, 200);

  writeFileSync(file, config(dataPort, adminPort, '    headers: { response: { set: { x-gen: two } } }'));
  assert.equal((await reload()).status, 200);
  for (let i = 0; i < 10; i++) assert.equal((await request(`${url}/g${i}`)).headers['x-gen'], 'two');

  writeFileSync(file, config(dataPort, adminPort, '    headers: { response: { set: { x-gen: three } } }'));
  process.kill(child.pid, 'SIGHUP');
  await waitFor(async () => (await request(`${url}/`)).headers['x-gen'] === 'three', 5000, 'SIGHUP reload');
  for (let i = 0; i < 10; i++) assert.equal((await request(`${url}/h${i}`)).headers['x-gen'], 'three');
});

test('SIGTERM drains: the request in flight completes, new connections are refused, exit code 0', async () => {
  const inflight = request(`${url}/slow`);
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  await assert.rejects(request(`${url}/`), /ECONNREFUSED/);
  const r = await inflight;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'slow done');
  assert.equal(await child.exited, 0);
  assert.deepEqual(childPids(child.pid), []);
});
