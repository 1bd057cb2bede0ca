// npm run bench -- waf: Bulwark with OWASP CRS at PL1, blocking, against nginx + ModSecurity v3 + the same CRS
// release at PL1, blocking, both with 2 workers in front of the same origin, driven by wrk on loopback in one run.
// Prints `bench: waf-<scenario> bulwark=<rps> modsecurity=<rps> ratio=<r> p99=<ms>` per scenario, then the CRS load
// time, RSS per Bulwark worker and the slowest in-process transaction on 64 KiB arguments built to hurt regex
// engines; records everything in docs/benchmarks.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
const MODSEC_MODULE = '/usr/lib/nginx/modules/ngx_http_modsecurity_module.so';
const MODSEC_RECOMMENDED = '/etc/nginx/modsecurity.conf';

const BROWSER_HEADERS = {
  Host: 'shop.example.com',
  'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'Accept-Language': 'en-GB,en;q=0.9',
  'Accept-Encoding': 'gzip, deflate, br',
  Cookie: 'session=4f2a9c1e8b7d6a5f; theme=dark; consent=yes',
  Referer: 'https://shop.example.com/catalog?page=2',
};

function luaHeaders(headers) {
  return `{ ${Object.entries(headers)
    .map(([k, v]) => `["${k}"] = "${v}"`)
    .join(', ')} }`;
}

/**
 * Each wrk thread runs the script in a Lua state of its own: numbered from `setup`, a thread counts from its own
 * base, so no two requests carry the same id (with one counter per thread starting at 0, every id went out twice).
 */
const THREAD_IDS = `local threads = 0
function setup(thread)
  thread:set("base", threads * 10000000)
  threads = threads + 1
end
`;

/** wrk scripts: every request differs a little (an id), as real traffic does, so no cache sees one request twice. */
function scripts(dir) {
  const get = join(dir, 'get.lua');
  writeFileSync(
    get,
    `${THREAD_IDS}local n = 0
local headers = ${luaHeaders(BROWSER_HEADERS)}
request = function()
  n = n + 1
  return wrk.format("GET", "/catalog/item?id=" .. (base + n) .. "&color=blue&size=m", headers)
end
`,
  );
  const post = join(dir, 'post.lua');
  // About 600 bytes of an order, with the order number changing on every request.
  const template =
    '{"order":{"id":"ord_%08d","currency":"EUR","amount":4999,"items":[{"sku":"A-100","qty":2},{"sku":"B-220","qty":1}]},' +
    '"customer":{"email":"jane.doe@example.com","name":"Jane Doe","address":"12 Rue de la Paix, 75002 Paris"},' +
    '"note":"Please deliver between 9 and 12, ring twice at the side door. Thanks!"}';
  const pad = ' '.repeat(Math.max(0, 600 - template.length - 2));
  writeFileSync(
    post,
    `${THREAD_IDS}local n = 0
local headers = { ["Host"] = "api.example.com", ["Content-Type"] = "application/json", ["Accept"] = "application/json", ["User-Agent"] = "shop-client/2.3" }
request = function()
  n = n + 1
  return wrk.format("POST", "/api/orders", headers, string.format('${template}${pad}', base + n))
end
`,
  );
  const attack = join(dir, 'attack.lua');
  writeFileSync(
    attack,
    `local headers = ${luaHeaders(BROWSER_HEADERS)}
request = function()
  return wrk.format("GET", "/?id=1%27%20OR%20%271%27=%271", headers)
end
`,
  );
  return { get, post, attack };
}

function nginxConfig(dir, port, originPort, crsDir) {
  const modsec = join(dir, 'modsec.conf');
  writeFileSync(
    modsec,
    `Include ${MODSEC_RECOMMENDED}
SecRuleEngine On
SecAuditLog ${join(dir, 'modsec_audit.log')}
Include ${join(crsDir, 'crs-setup.conf.example')}
Include ${join(crsDir, 'rules', '*.conf')}
`,
  );
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `user root;
worker_processes ${WORKERS};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} warn;
load_module ${MODSEC_MODULE};
events { worker_connections 4096; }
http {
  access_log ${join(dir, 'nginx-access.log')};
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  upstream origin { server 127.0.0.1:${originPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    modsecurity on;
    modsecurity_rules_file ${modsec};
    location / {
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

function rssOfChildren(pid) {
  const out = spawnSync('ps', ['-o', 'pid=,rss=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.trim().split(/\s+/)[1]) / 1024);
}

/** Load time and the slowest transaction on hostile 64 KiB arguments, in this process with the built engine. */
async function inProcess(crsDir) {
  const { loadWaf } = await import('../dist/waf/index.js');
  const started = performance.now();
  const load = loadWaf({ crs: { dir: crsDir } }, process.cwd());
  const loadMs = performance.now() - started;
  if (!load.ok) throw new Error(load.problems.join('\n'));
  const waf = load.waf;
  const profile = waf.profile(undefined);
  const hostile = {
    'dash-x': '-x'.repeat(32768),
    backslashes: '\\'.repeat(65536),
    quotes: "'".repeat(65536),
    'lt-run': '<'.repeat(65536),
    'crlf-run': '\r\n'.repeat(32768),
    parens: '('.repeat(32768) + ')'.repeat(32768),
    'sql-words': 'select '.repeat(9362),
    'a-run': 'a'.repeat(65536),
  };
  const worst = [];
  for (const [name, value] of Object.entries(hostile)) {
    const body = 'q=' + encodeURIComponent(value);
    let max = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const t = waf.transaction('bench', profile);
      const headers = [
        ['Host', 'x'],
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Content-Length', String(body.length)],
      ];
      const req = {
        method: 'POST',
        uri: '/',
        protocol: 'HTTP/1.1',
        headers,
        clientAddress: '127.0.0.1',
        clientPort: 1,
      };
      if (!t.processRequestHeaders(req)) t.processRequestBody(body);
      t.processLogging();
      if (i > 0) max = Math.max(max, performance.now() - t0); // the first run also pays the JIT's warm-up
    }
    worst.push({ name, ms: max });
  }
  return { loadMs, worst };
}

export async function runWafBench() {
  ensureDebian('wrk', ['wrk']);
  if (!existsSync(MODSEC_MODULE) || spawnSync('which', ['nginx']).status !== 0) {
    console.log('bench: installing nginx-light and libnginx-mod-http-modsecurity from Debian packages');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'nginx-light', 'libnginx-mod-http-modsecurity'], {
      stdio: 'inherit',
    });
  }
  const { locateCrs } = await import('../dist/waf/index.js');
  const crs = locateCrs(undefined, process.cwd());
  if (!crs.ok) throw new Error(crs.message);

  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-waf-'));
  const [originPort, nginxPort, bulwarkPort, adminPort] = await Promise.all([
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
    rest: `waf: { crs: { dir: "${crs.dir}", paranoia_level: 1 } }
routes:
  - name: bench
    pool: origin
    stages: { waf: {} }
`,
  });
  const nginxConf = nginxConfig(dir, nginxPort, originPort, crs.dir);
  const test = spawnSync('nginx', ['-t', '-c', nginxConf], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t failed:\n${test.stderr}`);

  try {
    await measure(dir, config, nginxConf, originPort, nginxPort, bulwarkPort, crs.dir);
  } finally {
    // SIGKILL on nginx's master would orphan its workers: ask it to stop first.
    spawnSync('nginx', ['-c', nginxConf, '-s', 'stop']);
    stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(dir, config, nginxConf, originPort, nginxPort, bulwarkPort, crsDir) {
  start(process.execPath, ['bench/origin.mjs', String(originPort), String(WORKERS)], 'origin');
  start('nginx', ['-c', nginxConf, '-g', 'daemon off;'], 'nginx');
  const bulwark = start(process.execPath, ['dist/main.js', 'start', '-c', config], 'bulwark');
  const targets = { modsecurity: `http://127.0.0.1:${nginxPort}`, bulwark: `http://127.0.0.1:${bulwarkPort}` };
  for (const base of Object.values(targets)) await waitUp(`${base}/`);
  for (const base of Object.values(targets)) await waitUp(`${base}/?id=1%27%20OR%20%271%27=%271`, [403]);

  const lua = scripts(dir);
  for (const base of Object.values(targets)) wrk(`${base}/`, 3, lua.get); // warm-up: JIT, keep-alive pools

  const results = [];
  for (const scenario of ['get', 'post', 'attack']) {
    const runs = { modsecurity: [], bulwark: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first so that drift on a shared machine does not favour one side.
      const order = round % 2 === 0 ? ['modsecurity', 'bulwark'] : ['bulwark', 'modsecurity'];
      for (const side of order) runs[side].push(wrk(`${targets[side]}/`, DURATION, lua[scenario]));
    }
    const row = { scenario };
    for (const side of ['bulwark', 'modsecurity']) {
      row[side] = median(runs[side].map((r) => r.rps));
      row[`${side}P99`] = median(runs[side].map((r) => r.p99ms));
      row[`${side}Non2xx`] = runs[side].reduce((n, r) => n + r.errors, 0);
    }
    row.ratio = row.bulwark / row.modsecurity;
    results.push(row);
    console.log(
      `bench: waf-${scenario} bulwark=${Math.round(row.bulwark)} modsecurity=${Math.round(row.modsecurity)} ratio=${row.ratio.toFixed(2)} p99=${row.bulwarkP99.toFixed(2)}`,
    );
  }
  const rss = rssOfChildren(bulwark.pid);
  const { loadMs, worst } = await inProcess(crsDir);
  const slowest = worst.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(`bench: waf-crs-load ms=${Math.round(loadMs)}`);
  console.log(`bench: waf-rss-per-worker mib=${rss.map((m) => Math.round(m)).join(',')}`);
  console.log(`bench: waf-64k-worst ms=${slowest.ms.toFixed(1)} (${slowest.name})`);
  record(results, { loadMs, rss, worst });
}

function record(results, extra) {
  const rows = results
    .map(
      (r) =>
        `| ${r.scenario} | ${Math.round(r.bulwark)} | ${Math.round(r.modsecurity)} | **${r.ratio.toFixed(2)}** | ${r.bulwarkP99.toFixed(2)} | ${r.modsecurityP99.toFixed(2)} | ${r.bulwarkNon2xx} / ${r.modsecurityNon2xx} |`,
    )
    .join('\n');
  const worst = extra.worst.map((w) => `${w.name} ${w.ms.toFixed(1)}`).join(', ');
  const entry = `### ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · commit ${commitLabel()} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model.trim()}

${ROUNDS} rounds × ${DURATION} s per side, median; wrk -t2 -c64; ${WORKERS} workers each; CRS PL1 blocking on both.

| scenario | Bulwark rps | nginx+ModSecurity rps | ratio | Bulwark p99 ms | ModSecurity p99 ms | non-2xx (B / M) |
| --- | --- | --- | --- | --- | --- | --- |
${rows}

CRS load ${Math.round(extra.loadMs)} ms; RSS per Bulwark worker ${extra.rss.map((m) => `${Math.round(m)} MiB`).join(', ')};
slowest transaction on a 64 KiB hostile argument (ms, warm): ${worst}.
`;
  recordEntry('<!-- waf results: newest first -->', entry);
}
