// npm run bench [-- gateway]: Bulwark against a bare undici proxy in the same run, on the same cores, with wrk
// on loopback. Prints `bench: <scenario> bulwark=<rps> baseline=<rps> ratio=<r> p99=<ms>` and records the
// figures in docs/benchmarks.md. Env: BENCH_DURATION (seconds per wrk run, default 10), BENCH_ROUNDS (default 3).
import { cpus } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const suite = process.argv[2] ?? 'gateway';
if (suite === 'lists') {
  const { runListsBench } = await import('./lists.mjs');
  runListsBench();
  process.exit(0);
}
if (suite === 'waf') {
  const { runWafBench } = await import('./waf.mjs');
  await runWafBench();
  process.exit(0);
}
if (suite === 'ddos') {
  const { runDdosBench } = await import('./ddos.mjs');
  await runDdosBench();
  process.exit(0);
}
if (suite !== 'gateway') {
  console.error(`bench: unknown suite "${suite}"; available: gateway, waf, ddos, lists`);
  process.exit(2);
}
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKERS = 2;
const CONNECTIONS = 64;

async function main() {
  ensureDebian('wrk', ['wrk']);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-'));
  const [originPort, baselinePort, bulwarkPort, adminPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const originUrl = `http://127.0.0.1:${originPort}`;
  const config = writeBulwarkConfig(dir, {
    workers: WORKERS,
    port: bulwarkPort,
    adminPort,
    originPort,
    rest: `routes:
  - name: bench
    pool: origin
    stages: { access: { rules: [{ action: deny, paths: [/.git, /.env] }] } }
`,
  });
  const post = join(dir, 'post.lua');
  const body = JSON.stringify({
    user: 'u'.repeat(40),
    items: Array.from({ length: 20 }, (_, i) => ({ id: i, qty: i % 3 })),
  })
    .slice(0, 600)
    .padEnd(600, ' ');
  writeFileSync(post, `wrk.method = "POST"\nwrk.body = '${body}'\nwrk.headers["Content-Type"] = "application/json"\n`);

  start(process.execPath, ['bench/origin.mjs', String(originPort), String(WORKERS)], 'origin');
  start(process.execPath, ['bench/baseline/proxy.mjs', String(baselinePort), originUrl, String(WORKERS)], 'baseline');
  start(process.execPath, ['dist/main.js', 'start', '-c', config], 'bulwark');
  const targets = {
    origin: `${originUrl}/`,
    baseline: `http://127.0.0.1:${baselinePort}/`,
    bulwark: `http://127.0.0.1:${bulwarkPort}/`,
  };
  for (const url of Object.values(targets)) await waitUp(url);
  for (const url of Object.values(targets)) wrk(url, 3); // warm-up: JIT, keep-alive pools

  const results = [];
  for (const [scenario, script] of [
    ['get', undefined],
    ['post', post],
  ]) {
    const direct = wrk(targets.origin, DURATION, script);
    const runs = { baseline: [], bulwark: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first so that drift on a shared machine does not favour one side.
      const order = round % 2 === 0 ? ['baseline', 'bulwark'] : ['bulwark', 'baseline'];
      for (const side of order) runs[side].push(wrk(targets[side], DURATION, script));
    }
    const b = median(runs.bulwark.map((r) => r.rps));
    const base = median(runs.baseline.map((r) => r.rps));
    const p99 = median(runs.bulwark.map((r) => r.p99ms));
    const errors = runs.bulwark.reduce((n, r) => n + r.errors, 0);
    const row = {
      scenario,
      bulwark: b,
      baseline: base,
      ratio: b / base,
      p99,
      basep99: median(runs.baseline.map((r) => r.p99ms)),
      origin: direct.rps,
      errors,
    };
    results.push(row);
    console.log(
      `bench: ${scenario} bulwark=${Math.round(b)} baseline=${Math.round(base)} ratio=${row.ratio.toFixed(2)} p99=${p99.toFixed(2)}`,
    );
    console.log(
      `bench: ${scenario} origin-direct=${Math.round(direct.rps)} bulwark-non2xx=${errors} rounds=${ROUNDS}x${DURATION}s`,
    );
  }
  stopAll();
  record(results);
  rmSync(dir, { recursive: true, force: true });
}

function record(results) {
  const rows = results
    .map(
      (r) =>
        `| ${r.scenario} | ${Math.round(r.bulwark)} | ${Math.round(r.baseline)} | **${r.ratio.toFixed(2)}** | ${r.p99.toFixed(2)} | ${r.basep99.toFixed(2)} | ${Math.round(r.origin)} |`,
    )
    .join('\n');
  const entry = `### ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · commit ${commitLabel()} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model.trim()}

${ROUNDS} rounds × ${DURATION} s per side, median; wrk -t2 -c${CONNECTIONS}; ${WORKERS} workers each.

| scenario | Bulwark rps | baseline rps | ratio | Bulwark p99 ms | baseline p99 ms | origin direct rps |
| --- | --- | --- | --- | --- | --- | --- |
${rows}
`;
  recordEntry('<!-- results: newest first -->', entry);
}

main().catch((e) => {
  console.error(`bench: ${e.message}`);
  stopAll();
  process.exit(1);
});
