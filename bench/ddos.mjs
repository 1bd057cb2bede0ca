// npm run bench -- ddos: what a rate-limit refusal costs. In one run, on the same cores, with wrk on loopback:
// - ddos-reject: one client floods a route limited to 10 requests/s; requests answered 429 per second by Bulwark,
//   against nginx (Debian's nginx-light) refusing the same flood with limit_req (2 workers each).
// - ddos-proxy: the same route and limit, but every request carries its own key, so each is admitted and proxied.
// - ddos-node-floor: bench/baseline/refuse.mjs, node:http answering a constant 429 (no limiter, no log; answers
//   batched per loop turn like Bulwark's): the most any refusal can do on Node's HTTP server, printed so that the
//   ratio against nginx can be read against it.
// Prints `bench: ddos-reject bulwark=<rps> nginx=<rps> ratio=<r>` and `bench: ddos-reject-vs-proxy ratio=<r>`, and
// records the figures in docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  writeBulwarkConfig,
  commitLabel,
  ensureDebian,
  freePort,
  median,
  recordEntry,
  start,
  stopAll,
  waitUp,
  wrk,
} from './lib.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKERS = 2;
const CONNECTIONS = 64;
const KEY_HEADER = 'x-bench-client';

/** wrk scripts: the flood repeats one key; the proxied run gives every request a key of its own. */
function scripts(dir) {
  const flood = join(dir, 'flood.lua');
  writeFileSync(flood, `wrk.headers["${KEY_HEADER}"] = "attacker"\n`);
  const fresh = join(dir, 'fresh.lua');
  writeFileSync(
    fresh,
    `local n = 0
local prefix = tostring(math.random(1, 1000000000))
request = function()
  n = n + 1
  return wrk.format("GET", "/", { ["${KEY_HEADER}"] = prefix .. "-" .. n })
end
`,
  );
  return { flood, fresh };
}

function nginxConfig(dir, port, originPort) {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes ${WORKERS};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} warn;
events { worker_connections 4096; }
http {
  access_log ${join(dir, 'nginx-access.log')};
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  # The same key as Bulwark's rule: a header; 10 requests/s with a burst of 10, refusals answered 429.
  limit_req_zone $http_${KEY_HEADER.replaceAll('-', '_')} zone=bench:32m rate=10r/s;
  limit_req_status 429;
  # Each refusal is otherwise an error-log line; Bulwark counts refusals in a metric and the access log.
  limit_req_log_level info;
  upstream origin { server 127.0.0.1:${originPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      limit_req zone=bench burst=10 nodelay;
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  return conf;
}

export async function runDdosBench() {
  ensureDebian('wrk', ['wrk']);
  ensureDebian('nginx', ['nginx-light']);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-ddos-'));
  const [originPort, nginxPort, bulwarkPort, adminPort, floorPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const config = writeBulwarkConfig(dir, {
    workers: WORKERS,
    port: bulwarkPort,
    adminPort,
    originPort,
    rest: `routes:
  - name: bench
    pool: origin
    stages:
      ratelimit: { rules: [{ name: per-client, key: ["header:${KEY_HEADER}"], rate: 10/s, burst: 10 }] }
`,
  });
  const nginxConf = nginxConfig(dir, nginxPort, originPort);
  const test = spawnSync('nginx', ['-t', '-c', nginxConf], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t failed:\n${test.stderr}`);
  try {
    await measure(dir, config, nginxConf, originPort, nginxPort, bulwarkPort, floorPort);
  } finally {
    // SIGKILL on nginx's master would orphan its workers: ask it to stop first.
    spawnSync('nginx', ['-c', nginxConf, '-s', 'stop']);
    stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(dir, config, nginxConf, originPort, nginxPort, bulwarkPort, floorPort) {
  start(process.execPath, ['bench/origin.mjs', String(originPort), String(WORKERS)], 'origin');
  start('nginx', ['-c', nginxConf, '-g', 'daemon off;'], 'nginx');
  start(process.execPath, ['dist/main.js', 'start', '-c', config], 'bulwark');
  start(process.execPath, ['bench/baseline/refuse.mjs', String(floorPort), String(WORKERS)], 'node-floor');
  const targets = {
    nginx: `http://127.0.0.1:${nginxPort}/`,
    bulwark: `http://127.0.0.1:${bulwarkPort}/`,
    floor: `http://127.0.0.1:${floorPort}/`,
  };
  await waitUp(targets.nginx);
  await waitUp(targets.bulwark);
  await waitUp(targets.floor, [429]);
  const lua = scripts(dir);
  for (const url of Object.values(targets)) wrk(url, 3, lua.fresh, CONNECTIONS); // warm-up: JIT, keep-alive pools

  const runs = { nginx: [], bulwark: [], proxy: [], floor: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so that drift on a shared machine does not favour one side.
    const order = round % 2 === 0 ? ['nginx', 'bulwark', 'proxy', 'floor'] : ['floor', 'proxy', 'bulwark', 'nginx'];
    for (const side of order) {
      const url = side === 'proxy' ? targets.bulwark : targets[side];
      runs[side].push(wrk(url, DURATION, side === 'proxy' ? lua.fresh : lua.flood, CONNECTIONS));
    }
  }
  const rps = (side) => median(runs[side].map((r) => r.rps));
  // wrk counts 429s as non-2xx: the flood runs must be (nearly) all refusals, the proxied run none.
  const share = (side) => {
    const total = runs[side].reduce((n, r) => n + r.requests, 0);
    return runs[side].reduce((n, r) => n + r.errors, 0) / Math.max(1, total);
  };
  const row = {
    bulwark: rps('bulwark'),
    nginx: rps('nginx'),
    proxy: rps('proxy'),
    floor: rps('floor'),
    bulwarkP99: median(runs.bulwark.map((r) => r.p99ms)),
    nginxP99: median(runs.nginx.map((r) => r.p99ms)),
    proxyP99: median(runs.proxy.map((r) => r.p99ms)),
    refusedShare: { bulwark: share('bulwark'), nginx: share('nginx'), proxy: share('proxy') },
  };
  console.log(
    `bench: ddos-reject bulwark=${Math.round(row.bulwark)} nginx=${Math.round(row.nginx)} ratio=${(row.bulwark / row.nginx).toFixed(2)}`,
  );
  console.log(
    `bench: ddos-reject-vs-proxy ratio=${(row.bulwark / row.proxy).toFixed(2)} (rejected ${Math.round(row.bulwark)}/s, proxied ${Math.round(row.proxy)}/s)`,
  );
  console.log(
    `bench: ddos-node-floor rps=${Math.round(row.floor)} (node:http answering a constant 429, batched; bulwark/floor=${(row.bulwark / row.floor).toFixed(2)}, nginx/floor=${(row.nginx / row.floor).toFixed(2)})`,
  );
  console.log(
    `bench: ddos-refused-share bulwark=${row.refusedShare.bulwark.toFixed(4)} nginx=${row.refusedShare.nginx.toFixed(4)} proxy=${row.refusedShare.proxy.toFixed(4)}`,
  );
  record(row);
}

function record(r) {
  const entry = `### ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · commit ${commitLabel()} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model.trim()}

${ROUNDS} rounds × ${DURATION} s per side, median; wrk -t2 -c${CONNECTIONS}; ${WORKERS} workers each.

| run | rps | p99 ms | share refused |
| --- | --- | --- | --- |
| Bulwark, flood refused (429) | ${Math.round(r.bulwark)} | ${r.bulwarkP99.toFixed(2)} | ${r.refusedShare.bulwark.toFixed(4)} |
| nginx limit_req, flood refused (429) | ${Math.round(r.nginx)} | ${r.nginxP99.toFixed(2)} | ${r.refusedShare.nginx.toFixed(4)} |
| Bulwark, proxied (a key per request) | ${Math.round(r.proxy)} | ${r.proxyP99.toFixed(2)} | ${r.refusedShare.proxy.toFixed(4)} |
| node:http answering a constant 429, batched (the platform's floor) | ${Math.round(r.floor)} | | |

Reject vs nginx: **${(r.bulwark / r.nginx).toFixed(2)}** (goal ≥ 0.5); reject vs proxy: **${(r.bulwark / r.proxy).toFixed(2)}** (goal ≥ 2).
`;
  recordEntry('<!-- ddos results: newest first -->', entry);
}
